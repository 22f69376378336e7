//! TLS facts beyond what rustls offers: certificate expiry, and whether a
//! server still accepts the TLS 1.0/1.1 handshakes the seed says are disabled
//! (the loop that asks is in [`super::policy`]).
//!
//! rustls (which every probe uses) cannot speak TLS below 1.2 by design, so the
//! legacy check uses OpenSSL through the `openssl` crate with the security
//! level lowered to 0 for that one handshake. A maintained library that really
//! speaks the old protocols is a truer test than a hand-built ClientHello: a
//! server that answers a crafted hello may still fail a real legacy client, and
//! the other way round. The check only asks whether the handshake completes; it
//! sends no request and verifies nothing else.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use openssl::ssl::{HandshakeError, SslConnector, SslMethod, SslVerifyMode, SslVersion};

/// A protocol version the seed requires to be disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Legacy {
    Tls10,
    Tls11,
}

impl Legacy {
    pub const ALL: [Legacy; 2] = [Legacy::Tls10, Legacy::Tls11];

    pub fn as_str(self) -> &'static str {
        match self {
            Legacy::Tls10 => "TLSv1.0",
            Legacy::Tls11 => "TLSv1.1",
        }
    }

    fn ssl_version(self) -> SslVersion {
        match self {
            Legacy::Tls10 => SslVersion::TLS1,
            Legacy::Tls11 => SslVersion::TLS1_1,
        }
    }
}

/// Earliest `notAfter` of a certificate chain, as Unix seconds.
pub fn earliest_expiry(chain: &[rustls::pki_types::CertificateDer<'_>]) -> Option<i64> {
    let epoch = openssl::asn1::Asn1Time::from_unix(0).ok()?;
    chain
        .iter()
        .filter_map(|der| {
            let cert = openssl::x509::X509::from_der(der.as_ref()).ok()?;
            let diff = epoch.diff(cert.not_after()).ok()?;
            Some(i64::from(diff.days) * 86_400 + i64::from(diff.secs))
        })
        .min()
}

/// Tries a handshake offering only `version`. `Ok(true)`: the server accepted
/// it (a policy violation); `Ok(false)`: it refused; `Err`: the server could
/// not be reached, so nothing is known. Blocking: run it off the async runtime.
pub fn legacy_accepted(
    host: &str,
    port: u16,
    server_name: &str,
    version: Legacy,
    timeout: Duration,
) -> Result<bool, String> {
    let addr: SocketAddr = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("resolving {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("resolving {host}: no addresses"))?;
    let stream = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("connecting to {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let mut b = SslConnector::builder(SslMethod::tls_client()).map_err(|e| e.to_string())?;
    b.set_security_level(0);
    b.set_cipher_list("ALL:@SECLEVEL=0")
        .map_err(|e| e.to_string())?;
    b.set_min_proto_version(Some(version.ssl_version()))
        .map_err(|e| e.to_string())?;
    b.set_max_proto_version(Some(version.ssl_version()))
        .map_err(|e| e.to_string())?;
    b.set_verify(SslVerifyMode::NONE);
    let mut cfg = b.build().configure().map_err(|e| e.to_string())?;
    cfg.set_verify_hostname(false);
    match cfg.connect(server_name, stream) {
        Ok(s) => Ok(s.ssl().version2() == Some(version.ssl_version())),
        Err(HandshakeError::Failure(_)) | Err(HandshakeError::SetupFailure(_)) => Ok(false),
        Err(HandshakeError::WouldBlock(_)) => Err(format!("handshake with {addr} timed out")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_earliest_expiry_of_a_chain() {
        let mut a = rcgen::CertificateParams::new(vec!["a.example".to_string()]).unwrap();
        a.not_after = rcgen::date_time_ymd(2030, 1, 2);
        let mut b = rcgen::CertificateParams::new(vec!["b.example".to_string()]).unwrap();
        b.not_after = rcgen::date_time_ymd(2029, 6, 1);
        let key = rcgen::KeyPair::generate().unwrap();
        let a = a.self_signed(&key).unwrap();
        let b = b.self_signed(&key).unwrap();
        let chain = vec![a.der().clone(), b.der().clone()];
        // 2029-06-01T00:00:00Z
        assert_eq!(earliest_expiry(&chain), Some(1_874_966_400));
        assert_eq!(earliest_expiry(&[]), None);
    }
}

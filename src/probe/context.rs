//! What the probes of one app share, owned by that app instead of the process:
//! TLS client settings by the contents of their CA files, the system's roots
//! and certificate expiry by chain. Two apps (or two tests) side by side each
//! have their own.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use rustls::pki_types::CertificateDer;

/// SHA-256 of each CA file's contents, in order: what a TLS setting depends on.
type CaDigest = Vec<[u8; 32]>;

/// Chains seen at most this many at once before the expiry cache starts over.
const MAX_CHAINS: usize = 1024;

/// Built by the app (or a test, or `mimamori probe`) and passed down by `Arc`.
#[derive(Default)]
pub struct ProbeContext {
    /// The system's trusted roots, read once, the first time a setting is built.
    native_roots: OnceLock<Vec<CertificateDer<'static>>>,
    /// Settings still used by a plan, by the contents of their CA files: a CA
    /// file replaced at the same path gives a new setting on the next build,
    /// an unchanged one the same (so a reload keeps such transactions running).
    tls: Mutex<HashMap<CaDigest, Weak<rustls::ClientConfig>>>,
    /// Earliest `notAfter` per certificate chain (see [`ProbeContext::chain_expiry`]).
    expiry: Mutex<HashMap<Vec<Vec<u8>>, Option<i64>>>,
    /// The app's one Chromium for browser transactions, started at their first run.
    #[cfg(feature = "browser")]
    pub browser: crate::browser::Engine,
}

impl ProbeContext {
    pub fn new() -> Arc<ProbeContext> {
        Arc::new(ProbeContext::default())
    }

    fn native_roots(&self) -> &[CertificateDer<'static>] {
        self.native_roots
            .get_or_init(|| rustls_native_certs::load_native_certs().certs)
    }

    /// TLS client settings that trust the system's roots and `ca_files`, shared
    /// by every plan whose CA files have the same contents. The files are read
    /// on every call (at start and on each reload). Only TLS 1.2 and 1.3 are
    /// offered, as the seed requires.
    pub fn tls_config(&self, ca_files: &[PathBuf]) -> Result<Arc<rustls::ClientConfig>, String> {
        let mut pems = Vec::with_capacity(ca_files.len());
        for f in ca_files {
            let pem = std::fs::read(f)
                .map_err(|e| format!("cannot read CA file {}: {e}", f.display()))?;
            pems.push(pem);
        }
        let key: CaDigest = pems
            .iter()
            .map(|pem| {
                let d = ring::digest::digest(&ring::digest::SHA256, pem);
                d.as_ref().try_into().expect("SHA-256 has 32 bytes")
            })
            .collect();
        let mut cache = self.tls.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = cache.get(&key).and_then(Weak::upgrade) {
            return Ok(c);
        }
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(self.native_roots().iter().cloned());
        for (f, pem) in ca_files.iter().zip(&pems) {
            for cert in parse_pem_certs(f, pem)? {
                roots
                    .add(cert)
                    .map_err(|e| format!("{}: {e}", f.display()))?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        // Every run starts from nothing: a resumed session would hide the full
        // handshake's cost (and a broken certificate chain) from the measurement.
        cfg.resumption = rustls::client::Resumption::disabled();
        let cfg = Arc::new(cfg);
        cache.retain(|_, w| w.strong_count() > 0);
        cache.insert(key, Arc::downgrade(&cfg));
        Ok(cfg)
    }

    /// [`super::tls::earliest_expiry`], remembered per certificate chain: a
    /// server shows the same chain run after run, and decoding it with OpenSSL
    /// on every HTTPS run cost more CPU than the handshake itself (see
    /// BENCHMARKS.md).
    pub fn chain_expiry(&self, chain: &[CertificateDer<'_>]) -> Option<i64> {
        let key: Vec<Vec<u8>> = chain.iter().map(|c| c.as_ref().to_vec()).collect();
        if let Some(e) = self
            .expiry
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return *e;
        }
        let expiry = super::tls::earliest_expiry(chain);
        let mut seen = self.expiry.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= MAX_CHAINS {
            // Bounded: many distinct chains (rotating certificates) start over.
            seen.clear();
        }
        seen.insert(key, expiry);
        expiry
    }
}

impl std::fmt::Debug for ProbeContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProbeContext").finish_non_exhaustive()
    }
}

fn parse_pem_certs(f: &Path, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem).collect();
    let certs = certs.map_err(|e| format!("invalid PEM in {}: {e}", f.display()))?;
    if certs.is_empty() {
        return Err(format!("no certificates in {}", f.display()));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca_pem() -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.self_signed(&key).unwrap().pem()
    }

    #[test]
    fn tls_settings_follow_the_ca_file_contents_not_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ca.pem");
        std::fs::write(&f, ca_pem()).unwrap();
        let ctx = ProbeContext::default();
        let files = [f.clone()];
        let a = ctx.tls_config(&files).unwrap();
        assert!(Arc::ptr_eq(&a, &ctx.tls_config(&files).unwrap()));
        std::fs::write(&f, ca_pem()).unwrap();
        let b = ctx.tls_config(&files).unwrap();
        assert!(
            !Arc::ptr_eq(&a, &b),
            "a replaced CA file gives new settings"
        );
        // Another app has settings of its own.
        let other = ProbeContext::default();
        assert!(!Arc::ptr_eq(&b, &other.tls_config(&files).unwrap()));
        std::fs::write(&f, "not PEM").unwrap();
        assert!(ctx
            .tls_config(&files)
            .unwrap_err()
            .contains("no certificates"));
    }
}

//! Loopback servers for the tests, each on a thread of its own with its own
//! tokio runtime: usable from sync and async tests alike, and never starved by
//! a test that blocks (or measures) its own runtime. They live as long as the
//! test process.

use std::future::Future;
use std::net::{SocketAddr, ToSocketAddrs};

use tokio::net::TcpStream;

/// Binds `addr` (port 0: any free port) and runs `on_connection` as a task
/// for every connection accepted there; where it listens.
pub fn serve<F, Fut>(addr: impl ToSocketAddrs, on_connection: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = std::net::TcpListener::bind(addr).unwrap();
    let local = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                // An accept error (e.g. out of file descriptors) ends no test: keep serving.
                if let Ok((s, _)) = listener.accept().await {
                    tokio::spawn(on_connection(s));
                }
            }
        });
    });
    local
}

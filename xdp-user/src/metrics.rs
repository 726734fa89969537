//! `run --metrics ADDR`: `GET /metrics` answered with Prometheus text (stats.rs), over
//! hyper's HTTP/1.1 server on the daemon's tokio runtime.
//!
//! Each connection is its own task, so an idle or slow client holds only its own
//! connection: at most [`MAX_CONNECTIONS`] at once, headers within [`HEADER_TIMEOUT`], and
//! no connection (keep-alive included) longer than [`CONNECTION_LIMIT`]. The address is
//! bound before anything is attached ([`Listener::bind`]), so a busy port fails start-up.

use std::{convert::Infallible, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::{Context as _, Result};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{
    header::{HeaderValue, ALLOW, CONTENT_TYPE},
    server::conn::http1,
    service::service_fn,
    Method, Request, Response, StatusCode,
};
use hyper_util::rt::{TokioIo, TokioTimer};
use log::{debug, info, warn};
use tokio::sync::Semaphore;

use crate::stats::Source;

/// The one path served.
pub const PATH: &str = "/metrics";
/// Connections served at once; more wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 32;
/// A request's headers must arrive within this.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Any connection is closed after this, however busy (a scraper reconnects).
pub const CONNECTION_LIMIT: Duration = Duration::from_secs(60);

/// The metrics address, bound.
pub struct Listener {
    listener: std::net::TcpListener,
    addr: SocketAddr,
}

impl Listener {
    /// Binds `addr` now (no runtime needed): a busy or unavailable address is an error.
    pub fn bind(addr: SocketAddr) -> Result<Listener> {
        let listener = std::net::TcpListener::bind(addr)
            .with_context(|| format!("--metrics {addr}: cannot listen there"))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        Ok(Listener { listener, addr })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the task is dropped. Needs a tokio runtime.
    pub async fn serve(self, source: Arc<Source>) {
        let listener = match tokio::net::TcpListener::from_std(self.listener) {
            Ok(l) => l,
            Err(e) => return warn!("metrics on {}: {e}; not served", self.addr),
        };
        info!("metrics on http://{}{PATH}", self.addr);
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        loop {
            let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
                return;
            };
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors and the like: pause, so it cannot spin.
                    warn!("metrics on {}: accept: {e}", self.addr);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let source = Arc::clone(&source);
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let response = respond(&request, &source);
                    async move { Ok::<_, Infallible>(response) }
                });
                let connection = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), service);
                match tokio::time::timeout(CONNECTION_LIMIT, connection).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => debug!("metrics: connection from {peer}: {e}"),
                    Err(_) => {
                        debug!("metrics: connection from {peer} closed after {CONNECTION_LIMIT:?}")
                    }
                }
                drop(permit);
            });
        }
    }
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// GET /metrics: the counters; another path: 404; another method on /metrics: 405.
fn respond<B>(request: &Request<B>, source: &Source) -> Response<Full<Bytes>> {
    if request.uri().path() != PATH {
        return text(
            StatusCode::NOT_FOUND,
            format!("not found: only {PATH} is served here\n"),
        );
    }
    if request.method() != Method::GET {
        let mut response = text(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{} {PATH}: only GET is allowed\n", request.method()),
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET"));
        return response;
    }
    match source.read().and_then(|stats| stats.to_prometheus()) {
        Ok(body) => {
            let mut response = text(StatusCode::OK, body);
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(prometheus::TEXT_FORMAT),
            );
            response
        }
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reading the counters: {e:#}\n"),
        ),
    }
}

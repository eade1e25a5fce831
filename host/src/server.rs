//! Binds the engine and the HTTP surface (REST API under `/engine-rest`; the cockpit at `/`,
//! the live event stream at `/engine-rest/events` and Prometheus metrics at `/metrics`, see
//! [`crate::cockpit`]) to a listener,
//! mini-redis style: `run(listener, engine, config, shutdown)` so tests can bind
//! `127.0.0.1:0` and stop the server when they are done.

use std::future::Future;

use axum::Router;
use tokio::net::TcpListener;

use crate::config::ServerConfig;
use crate::engine::ProcessEngine;

/// The whole HTTP application for an engine: the REST API beside the cockpit. The cockpit
/// router has no fallback, so unknown paths still get the REST API's Camunda-shaped 404.
pub fn app(engine: ProcessEngine, config: &ServerConfig) -> Router {
    let api = crate::api::router(crate::api::ApiState {
        engine: engine.clone(),
        config: config.api_config(),
    });
    // The cockpit's views scan like the REST queries do: the same time limit and cancellation.
    // The request metrics are outermost, so every route's latency (guards included) is
    // recorded under its template for /metrics; the REST API mounts them in its own stack
    // (one layer per router: see `api::router`).
    let metrics = engine.clone();
    let cockpit = crate::cockpit::router(engine, config.auth).layer(
        tower::ServiceBuilder::new()
            .layer(axum::middleware::from_fn_with_state(
                metrics,
                crate::cockpit::metrics::track,
            ))
            .layer(axum::middleware::from_fn_with_state(
                config.api_config().limits,
                crate::api::guard::middleware,
            )),
    );
    cockpit.merge(api)
}

/// Serve until `shutdown` resolves, then let in-flight requests finish and flush the engine.
pub async fn run(
    listener: TcpListener,
    engine: ProcessEngine,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        engine.set_self_address(addr);
    }
    let app = app(engine.clone(), &config);
    // When the stop signal arrives, first tell the engine, so parked long polls and event
    // streams end at once; then axum waits only for ordinary in-flight requests.
    let stopping = engine.clone();
    let shutdown = async move {
        shutdown.await;
        stopping.begin_shutdown();
    };
    // Handlers turned into routes once here, and each connection serves a shared handle of
    // the result: axum's default turns them per connection (a deep copy of every route,
    // ~0.6 ms of CPU for each new connection, which clients without keep-alive pay per
    // request).
    let app: axum::Router = app.with_state(());
    axum::serve(listener, app.into_make_service())
        .with_graceful_shutdown(shutdown)
        .await?;
    engine.shutdown().await?;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

//! Logging, tracing and metrics for the DotMac binaries.
//!
//! [`init`] installs one `tracing` subscriber:
//! - log lines on standard error, as JSON when it is not a terminal (containers, CI, files) and
//!   as readable text on a terminal; `DOTMAC_LOG_FORMAT=json|text` overrides the choice, and
//!   `RUST_LOG` sets the filter (default [`DEFAULT_FILTER`]);
//! - when `OTEL_EXPORTER_OTLP_ENDPOINT` (or a signal-specific `OTEL_EXPORTER_OTLP_*_ENDPOINT`)
//!   is set, spans and metrics are exported over OTLP/HTTP (protobuf) to that collector;
//!   metrics are recorded through `opentelemetry::global::meter`.
//!
//! Keep the returned [`Telemetry`] alive for the life of the process: dropping it flushes
//! what is still buffered.

use std::io::IsTerminal;

use opentelemetry::{KeyValue, trace::TracerProvider as _};
use opentelemetry_otlp::{MetricExporter, SpanExporter};
use opentelemetry_sdk::{
    Resource,
    metrics::{PeriodicReader, SdkMeterProvider},
    trace::SdkTracerProvider,
};
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

#[cfg(feature = "test-support")]
pub mod otlp_receiver;

/// Telemetry set-up failed.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// An OTLP exporter could not be built.
    #[error("failed to build the OTLP {signal} exporter: {source}")]
    Exporter {
        /// `traces` or `metrics`.
        signal: &'static str,
        /// Why.
        source: opentelemetry_otlp::ExporterBuildError,
    },
    /// `RUST_LOG` is not a valid filter.
    #[error("RUST_LOG is not a valid log filter: {0}")]
    Filter(#[from] tracing_subscriber::filter::ParseError),
    /// A global subscriber was already installed.
    #[error("a tracing subscriber is already installed: {0}")]
    AlreadyInstalled(#[from] tracing_subscriber::util::TryInitError),
}

/// Log filter when `RUST_LOG` is unset: `info`, with the SQL driver's per-statement lines hidden.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn";

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable text.
    Text,
}

impl LogFormat {
    /// `DOTMAC_LOG_FORMAT` when set to `json` or `text`, otherwise JSON unless standard error is
    /// a terminal.
    pub fn from_env() -> Self {
        match std::env::var("DOTMAC_LOG_FORMAT").as_deref() {
            Ok("json") => Self::Json,
            Ok("text") => Self::Text,
            _ if std::io::stderr().is_terminal() => Self::Text,
            _ => Self::Json,
        }
    }
}

/// Whether the environment names an OTLP collector.
pub fn otlp_configured() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    ]
    .iter()
    .any(|var| std::env::var(var).is_ok_and(|v| !v.trim().is_empty()))
}

/// The installed telemetry; flushes and shuts the exporters down when dropped.
#[derive(Debug, Default)]
pub struct Telemetry {
    tracer_provider: Option<SdkTracerProvider>,
    meter_provider: Option<SdkMeterProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        // Errors here mean the collector is gone at exit; nothing useful is left to do.
        if let Some(provider) = self.tracer_provider.take() {
            let _ = provider.shutdown();
        }
        if let Some(provider) = self.meter_provider.take() {
            let _ = provider.shutdown();
        }
    }
}

/// Installs ring as the process-wide rustls provider (kube uses ring too), so every HTTPS
/// client in the process (OTLP export, OpenBao) shares one TLS stack. Repeat calls are no-ops.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Installs logging, and OTLP export when configured, for the service `service_name`.
pub fn init(service_name: &'static str) -> Result<Telemetry, TelemetryError> {
    install_crypto_provider();
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.is_empty() => EnvFilter::try_new(directives)?,
        _ => EnvFilter::new(DEFAULT_FILTER),
    };
    let fmt_layer = match LogFormat::from_env() {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed(),
    };

    let mut telemetry = Telemetry::default();
    // One list of layers: an empty `Vec` layer would disable every event.
    let mut layers = vec![fmt_layer];
    if otlp_configured() {
        let resource = Resource::builder()
            .with_service_name(service_name)
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .build();
        let spans = SpanExporter::builder()
            .with_http()
            .build()
            .map_err(|source| TelemetryError::Exporter {
                signal: "traces",
                source,
            })?;
        let tracer_provider = SdkTracerProvider::builder()
            .with_resource(resource.clone())
            .with_batch_exporter(spans)
            .build();
        layers.push(
            tracing_opentelemetry::layer()
                .with_tracer(tracer_provider.tracer(service_name))
                .boxed(),
        );
        let metrics = MetricExporter::builder()
            .with_http()
            .build()
            .map_err(|source| TelemetryError::Exporter {
                signal: "metrics",
                source,
            })?;
        let meter_provider = SdkMeterProvider::builder()
            .with_resource(resource)
            .with_reader(PeriodicReader::builder(metrics).build())
            .build();
        opentelemetry::global::set_meter_provider(meter_provider.clone());
        telemetry.tracer_provider = Some(tracer_provider);
        telemetry.meter_provider = Some(meter_provider);
    }

    tracing_subscriber::registry()
        .with(filter)
        .with(layers)
        .try_init()?;
    Ok(telemetry)
}

/// The W3C trace id of the current span, when it is being traced (OTLP configured).
pub fn trace_id() -> Option<String> {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let context = tracing::Span::current().context();
    let span = context.span();
    let span_context = span.span_context();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

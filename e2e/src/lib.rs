//! DotMac end-to-end suite: tests in `tests/` and the `live` benchmark run the real binaries,
//! kubectl and HTTP clients against `devcluster`. [`live`] starts the platform whole; [`chart`]
//! makes the README's table of the chart's values.

pub mod chart;
pub mod live;

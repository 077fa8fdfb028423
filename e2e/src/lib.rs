//! DotMac end-to-end suite: tests in `tests/` and the `live` benchmark run the real binaries,
//! kubectl and HTTP clients against `devcluster`. [`live`] starts the platform whole.

pub mod live;

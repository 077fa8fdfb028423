//! The one way both processes connect to Redis: a fred client that reconnects with
//! exponential back-off (100 ms doubling to 5 s, for ever) and is connected before it is used.

use fred::{
    clients::Client,
    interfaces::ClientLike,
    types::{
        Builder,
        config::{Config, ReconnectPolicy},
    },
};

/// Connects to `url` (`redis://[user:password@]host:port`).
pub async fn connect(url: &str) -> Result<Client, fred::error::Error> {
    let client = Builder::from_config(Config::from_url(url)?)
        .set_policy(ReconnectPolicy::new_exponential(0, 100, 5_000, 2))
        .build()?;
    client.init().await?;
    Ok(client)
}

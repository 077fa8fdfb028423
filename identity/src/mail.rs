//! Outgoing e-mail: invitations and password resets, over SMTP with lettre (rustls). Each
//! instance has its own server and sender (its tenant's), the management API its own; without
//! one, nothing is sent and the caller says so ([`MailOutcome`]).

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
};

/// What became of an e-mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MailOutcome {
    /// The server accepted it.
    Sent,
    /// The server refused it or could not be reached (logged); invite again later.
    Failed,
    /// No mail server is configured.
    NotConfigured,
}

/// An API's SMTP settings.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// Mail that could not be sent, or settings that are wrong.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The SMTP URL or sender is malformed.
    #[error("{0}")]
    Config(String),
    /// The message could not be built (a bad recipient address).
    #[error("building the message: {0}")]
    Message(String),
    /// The server refused or could not be reached.
    #[error("sending: {0}")]
    Send(String),
}

impl Mailer {
    /// A mailer for `url` sending as `from`: `smtps://host:465` (TLS),
    /// `smtp://host:587?tls=required` (STARTTLS) or `smtp://host:25` (plain, for a relay on
    /// loopback); a user and password go in the URL.
    pub fn new(url: &str, from: &str) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::Config(format!("the SMTP URL: {e}")))?
            .build();
        let from = from
            .parse()
            .map_err(|e| MailError::Config(format!("the sender: {e}")))?;
        Ok(Self { transport, from })
    }

    /// Sends a plain-text message.
    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), MailError> {
        let to: Mailbox = to.parse().map_err(|e| MailError::Message(format!("{e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| MailError::Message(e.to_string()))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| MailError::Send(e.to_string()))
    }
}

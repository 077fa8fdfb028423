//! RADIUS packets on the wire (RFC 2865, 2866, 5176), as far as this instance speaks them:
//! the CoA-Request and Disconnect-Request it sends a NAS, and the Access- and
//! Accounting-Requests its bench sends FreeRADIUS. Every request carries Message-Authenticator
//! (RFC 3579, BlastRADIUS); answers are checked against the request and the secret.

use hmac::{KeyInit, Mac};
use md5::{Digest, Md5};

/// Packet codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// 1.
    AccessRequest,
    /// 2.
    AccessAccept,
    /// 3.
    AccessReject,
    /// 4.
    AccountingRequest,
    /// 5.
    AccountingResponse,
    /// 12 (RFC 5997).
    StatusServer,
    /// 40.
    DisconnectRequest,
    /// 41.
    DisconnectAck,
    /// 42.
    DisconnectNak,
    /// 43.
    CoaRequest,
    /// 44.
    CoaAck,
    /// 45.
    CoaNak,
}

impl Code {
    fn number(self) -> u8 {
        match self {
            Self::AccessRequest => 1,
            Self::AccessAccept => 2,
            Self::AccessReject => 3,
            Self::AccountingRequest => 4,
            Self::AccountingResponse => 5,
            Self::StatusServer => 12,
            Self::DisconnectRequest => 40,
            Self::DisconnectAck => 41,
            Self::DisconnectNak => 42,
            Self::CoaRequest => 43,
            Self::CoaAck => 44,
            Self::CoaNak => 45,
        }
    }

    fn from_number(n: u8) -> Option<Self> {
        Some(match n {
            1 => Self::AccessRequest,
            2 => Self::AccessAccept,
            3 => Self::AccessReject,
            4 => Self::AccountingRequest,
            5 => Self::AccountingResponse,
            12 => Self::StatusServer,
            40 => Self::DisconnectRequest,
            41 => Self::DisconnectAck,
            42 => Self::DisconnectNak,
            43 => Self::CoaRequest,
            44 => Self::CoaAck,
            45 => Self::CoaNak,
            _ => return None,
        })
    }
}

/// Attribute numbers used here.
pub mod attr {
    /// User-Name.
    pub const USER_NAME: u8 = 1;
    /// User-Password (hidden with the secret).
    pub const USER_PASSWORD: u8 = 2;
    /// NAS-IP-Address.
    pub const NAS_IP_ADDRESS: u8 = 4;
    /// NAS-Port.
    pub const NAS_PORT: u8 = 5;
    /// Framed-IP-Address.
    pub const FRAMED_IP_ADDRESS: u8 = 8;
    /// Filter-Id.
    pub const FILTER_ID: u8 = 11;
    /// Vendor-Specific.
    pub const VENDOR_SPECIFIC: u8 = 26;
    /// Acct-Status-Type.
    pub const ACCT_STATUS_TYPE: u8 = 40;
    /// Acct-Input-Octets.
    pub const ACCT_INPUT_OCTETS: u8 = 42;
    /// Acct-Output-Octets.
    pub const ACCT_OUTPUT_OCTETS: u8 = 43;
    /// Acct-Session-Id.
    pub const ACCT_SESSION_ID: u8 = 44;
    /// Acct-Session-Time.
    pub const ACCT_SESSION_TIME: u8 = 46;
    /// Event-Timestamp.
    pub const EVENT_TIMESTAMP: u8 = 55;
    /// Message-Authenticator.
    pub const MESSAGE_AUTHENTICATOR: u8 = 80;
    /// Error-Cause (RFC 5176).
    pub const ERROR_CAUSE: u8 = 101;
}

/// One attribute: standard, or vendor-specific (RFC 2865 §5.26).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribute {
    /// A standard attribute.
    Standard(u8, Vec<u8>),
    /// A vendor's attribute.
    Vendor {
        /// IANA enterprise number.
        vendor: u32,
        /// The vendor's attribute number.
        kind: u8,
        /// Its value.
        value: Vec<u8>,
    },
}

impl Attribute {
    /// A text attribute.
    pub fn text(kind: u8, value: &str) -> Self {
        Self::Standard(kind, value.as_bytes().to_vec())
    }

    /// A 32-bit integer attribute.
    pub fn integer(kind: u8, value: u32) -> Self {
        Self::Standard(kind, value.to_be_bytes().to_vec())
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), PacketError> {
        match self {
            Self::Standard(kind, value) => {
                let len = u8::try_from(value.len() + 2).map_err(|_| PacketError::TooLong)?;
                out.extend([*kind, len]);
                out.extend(value);
            }
            Self::Vendor {
                vendor,
                kind,
                value,
            } => {
                let inner = u8::try_from(value.len() + 2).map_err(|_| PacketError::TooLong)?;
                let outer = inner.checked_add(6).ok_or(PacketError::TooLong)?;
                out.extend([attr::VENDOR_SPECIFIC, outer]);
                out.extend(vendor.to_be_bytes());
                out.extend([*kind, inner]);
                out.extend(value);
            }
        }
        Ok(())
    }
}

/// A packet that cannot be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// An attribute or the packet exceeds RADIUS's limits.
    #[error("an attribute or the packet is too long for RADIUS")]
    TooLong,
    /// Not a well-formed RADIUS packet.
    #[error("malformed RADIUS packet")]
    Malformed,
    /// The answer is not signed with the shared secret for this request.
    #[error("the answer's authenticator does not match (wrong secret or not our request)")]
    Unauthenticated,
    /// Randomness was unavailable.
    #[error("no randomness for a request authenticator")]
    Random,
}

/// A request ready to send: its bytes, and what its answer is checked against.
#[derive(Debug, Clone)]
pub struct Request {
    /// The datagram.
    pub bytes: Vec<u8>,
    /// Its identifier.
    pub identifier: u8,
    /// Its authenticator.
    pub authenticator: [u8; 16],
}

/// An answer, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// What it says.
    pub code: Code,
    /// Its attributes (vendor-specific ones left as `Standard(26, …)`).
    pub attributes: Vec<Attribute>,
}

impl Answer {
    /// The first value of standard attribute `kind`.
    pub fn get(&self, kind: u8) -> Option<&[u8]> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Standard(k, v) if *k == kind => Some(v.as_slice()),
            _ => None,
        })
    }

    /// The first value of `vendor`'s attribute `kind`, from the Vendor-Specific attributes
    /// (each holding one or more of the vendor's, RFC 2865 §5.26).
    pub fn vendor(&self, vendor: u32, kind: u8) -> Option<&[u8]> {
        self.attributes.iter().find_map(|a| {
            let Attribute::Standard(attr::VENDOR_SPECIFIC, v) = a else {
                return None;
            };
            let (id, mut rest) = v.split_first_chunk::<4>()?;
            if u32::from_be_bytes(*id) != vendor {
                return None;
            }
            while let [k, len, ..] = rest {
                let len = usize::from(*len);
                if len < 2 || len > rest.len() {
                    return None;
                }
                if *k == kind {
                    return Some(&rest[2..len]);
                }
                rest = &rest[len..];
            }
            None
        })
    }
}

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut hash = Md5::new();
    for part in parts {
        hash.update(part);
    }
    hash.finalize().into()
}

fn hmac_md5(secret: &[u8], data: &[u8]) -> [u8; 16] {
    // HMAC takes a key of any length: `new_from_slice` cannot fail for it.
    let mut mac = <hmac::Hmac<Md5> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// RFC 2865 §5.2: the password padded to 16 octets and XORed with a chain of MD5s.
fn hide_password(password: &[u8], secret: &[u8], authenticator: &[u8; 16]) -> Vec<u8> {
    let mut padded = password.to_vec();
    let len = padded.len().div_ceil(16).max(1) * 16;
    padded.resize(len, 0);
    let mut previous: Vec<u8> = authenticator.to_vec();
    let mut out = Vec::with_capacity(len);
    for chunk in padded.chunks(16) {
        let key = md5(&[secret, &previous]);
        let block: Vec<u8> = chunk.iter().zip(key).map(|(p, k)| p ^ k).collect();
        out.extend(&block);
        previous = block;
    }
    out
}

/// Builds a request: Access-Requests and Status-Server get a random authenticator (and
/// User-Password hidden with it), the others the MD5 one (RFC 2866 §3, RFC 5176 §3.4); all get
/// Message-Authenticator.
pub fn request(
    code: Code,
    identifier: u8,
    attributes: &[Attribute],
    secret: &[u8],
) -> Result<Request, PacketError> {
    let random = matches!(code, Code::AccessRequest | Code::StatusServer);
    let authenticator: [u8; 16] = if random {
        let mut bytes = [0_u8; 16];
        getrandom::fill(&mut bytes).map_err(|_| PacketError::Random)?;
        bytes
    } else {
        [0; 16]
    };
    let mut body = Vec::new();
    for attribute in attributes {
        match attribute {
            Attribute::Standard(attr::USER_PASSWORD, password) if random => {
                Attribute::Standard(
                    attr::USER_PASSWORD,
                    hide_password(password, secret, &authenticator),
                )
                .encode(&mut body)?;
            }
            other => other.encode(&mut body)?,
        }
    }
    let ma_at = body.len();
    Attribute::Standard(attr::MESSAGE_AUTHENTICATOR, vec![0; 16]).encode(&mut body)?;
    let length = u16::try_from(20 + body.len())
        .ok()
        .filter(|l| *l <= 4096)
        .ok_or(PacketError::TooLong)?;
    let mut bytes = Vec::with_capacity(usize::from(length));
    bytes.extend([code.number(), identifier]);
    bytes.extend(length.to_be_bytes());
    bytes.extend(authenticator);
    bytes.extend(&body);
    // Message-Authenticator over the packet with itself zeroed (and, for the MD5-authenticated
    // codes, the authenticator zeroed too, as it still is).
    let ma = hmac_md5(secret, &bytes);
    let at = 20 + ma_at + 2;
    bytes[at..at + 16].copy_from_slice(&ma);
    let authenticator = if random {
        authenticator
    } else {
        let digest = md5(&[&bytes, secret]);
        bytes[4..20].copy_from_slice(&digest);
        digest
    };
    Ok(Request {
        bytes,
        identifier,
        authenticator,
    })
}

/// Reads the answer to `request`, checking its authenticator (and Message-Authenticator when
/// present) against the secret.
pub fn answer(bytes: &[u8], request: &Request, secret: &[u8]) -> Result<Answer, PacketError> {
    if bytes.len() < 20 {
        return Err(PacketError::Malformed);
    }
    let length = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
    if length < 20 || length > bytes.len() || bytes[1] != request.identifier {
        return Err(PacketError::Malformed);
    }
    let bytes = &bytes[..length];
    let code = Code::from_number(bytes[0]).ok_or(PacketError::Malformed)?;
    let expected = md5(&[&bytes[..4], &request.authenticator, &bytes[20..], secret]);
    if expected != bytes[4..20] {
        return Err(PacketError::Unauthenticated);
    }
    let mut attributes = Vec::new();
    let mut at = 20;
    while at < length {
        let kind = bytes[at];
        let len = usize::from(*bytes.get(at + 1).ok_or(PacketError::Malformed)?);
        if len < 2 || at + len > length {
            return Err(PacketError::Malformed);
        }
        if kind == attr::MESSAGE_AUTHENTICATOR && len == 18 {
            let mut zeroed = bytes.to_vec();
            zeroed[4..20].copy_from_slice(&request.authenticator);
            zeroed[at + 2..at + 18].fill(0);
            if hmac_md5(secret, &zeroed) != bytes[at + 2..at + 18] {
                return Err(PacketError::Unauthenticated);
            }
        }
        attributes.push(Attribute::Standard(kind, bytes[at + 2..at + len].to_vec()));
        at += len;
    }
    Ok(Answer { code, attributes })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An answer as a NAS would sign it.
    fn signed_answer(code: u8, request: &Request, attributes: &[u8], secret: &[u8]) -> Vec<u8> {
        let length = u16::try_from(20 + attributes.len()).unwrap();
        let mut bytes = vec![code, request.identifier];
        bytes.extend(length.to_be_bytes());
        bytes.extend(md5(&[
            &[code, request.identifier],
            &length.to_be_bytes(),
            &request.authenticator,
            attributes,
            secret,
        ]));
        bytes.extend(attributes);
        bytes
    }

    #[test]
    fn requests_are_signed_and_answers_checked() {
        let secret = b"s3cret-s3cret-s3";
        let req = request(
            Code::DisconnectRequest,
            7,
            &[Attribute::text(attr::ACCT_SESSION_ID, "s-1")],
            secret,
        )
        .unwrap();
        // The MD5 authenticator over the packet with it zeroed.
        let mut zeroed = req.bytes.clone();
        zeroed[4..20].fill(0);
        assert_eq!(md5(&[&zeroed, secret]), req.authenticator);
        assert_eq!(&req.bytes[4..20], &req.authenticator);
        assert_eq!(req.bytes.len(), 20 + 5 + 18);

        let ack = signed_answer(41, &req, &[], secret);
        assert_eq!(
            answer(&ack, &req, secret).unwrap().code,
            Code::DisconnectAck
        );
        assert_eq!(
            answer(&ack, &req, b"another-secret-x"),
            Err(PacketError::Unauthenticated)
        );
        let nak = signed_answer(42, &req, &[101, 6, 0, 0, 1, 247], secret);
        let nak = answer(&nak, &req, secret).unwrap();
        assert_eq!(nak.code, Code::DisconnectNak);
        assert_eq!(nak.get(attr::ERROR_CAUSE), Some(&[0, 0, 1, 247][..]));
        assert_eq!(
            answer(&ack[..10], &req, secret),
            Err(PacketError::Malformed)
        );
    }

    #[test]
    fn passwords_are_hidden_in_sixteen_octet_blocks() {
        let auth = [7_u8; 16];
        let hidden = hide_password(b"seventeen chars!!", b"secret", &auth);
        assert_eq!(hidden.len(), 32);
        // XOR with the same chain gives the padded password back.
        let key = md5(&[b"secret", &auth]);
        let first: Vec<u8> = hidden[..16].iter().zip(key).map(|(h, k)| h ^ k).collect();
        assert_eq!(&first, b"seventeen chars!");
    }

    #[test]
    fn vendor_attributes_nest_in_vendor_specific() {
        let mut out = Vec::new();
        Attribute::Vendor {
            vendor: 14988,
            kind: 8,
            value: b"10M/50M".to_vec(),
        }
        .encode(&mut out)
        .unwrap();
        assert_eq!(out[..8], [26, 15, 0, 0, 0x3a, 0x8c, 8, 9]);
        assert_eq!(&out[8..], b"10M/50M");
        let long = Attribute::Standard(1, vec![0; 300]);
        assert_eq!(long.encode(&mut Vec::new()), Err(PacketError::TooLong));
    }

    #[test]
    fn vendor_values_are_read_from_vendor_specific() {
        let req = request(Code::StatusServer, 3, &[], b"s3cret-s3cret-s3").unwrap();
        // One Vendor-Specific of FreeRADIUS's holding two of its attributes, one of another's.
        let mut attributes = vec![
            26, 18, 0, 0, 0x2c, 0x50, 128, 6, 0, 0, 0, 9, 135, 6, 0, 0, 0, 4,
        ];
        attributes.extend([26, 12, 0, 0, 0x3a, 0x8c, 135, 6, 0, 0, 0, 1]);
        let accept = signed_answer(2, &req, &attributes, b"s3cret-s3cret-s3");
        let accept = answer(&accept, &req, b"s3cret-s3cret-s3").unwrap();
        assert_eq!(accept.vendor(11344, 135), Some(&[0, 0, 0, 4][..]));
        assert_eq!(accept.vendor(11344, 128), Some(&[0, 0, 0, 9][..]));
        assert_eq!(accept.vendor(14988, 135), Some(&[0, 0, 0, 1][..]));
        assert_eq!(accept.vendor(11344, 136), None);
    }
}

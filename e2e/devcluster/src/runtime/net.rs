//! Loopback addresses for one devcluster: it claims a block `127.N.0.0/16` (N from 11 to
//! 250) by holding an exclusive lock on a file in the system's temporary directory, so
//! devclusters running side by side (parallel tests) never hand out the same pod or Service
//! address. Pods get `127.N.0.2` upwards, Services `127.N.128.1` upwards.

use std::{fs::File, io, net::Ipv4Addr, path::PathBuf};

/// A claimed block; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct Block {
    n: u8,
    _lock: File,
}

impl Block {
    /// Claims the first free block.
    pub fn claim() -> io::Result<Self> {
        let dir = std::env::temp_dir().join("devcluster-loopback");
        std::fs::create_dir_all(&dir)?;
        for n in 11..=250_u8 {
            let file = File::create(lock_path(&dir, n))?;
            if file.try_lock().is_ok() {
                return Ok(Self { n, _lock: file });
            }
        }
        Err(io::Error::other(
            "every loopback block 127.11-250.0.0/16 is in use",
        ))
    }

    /// The block's second octet.
    pub fn octet(&self) -> u8 {
        self.n
    }

    /// The `i`th pod address (0-based), wrapping within `127.N.0.2`–`127.N.127.254`.
    pub fn pod(&self, i: u32) -> Ipv4Addr {
        let i = i % (128 * 253);
        Ipv4Addr::new(127, self.n, (i / 253) as u8, (i % 253 + 2) as u8)
    }
}

fn lock_path(dir: &std::path::Path, n: u8) -> PathBuf {
    dir.join(format!("127.{n}.lock"))
}

/// The `i`th Service address in block `n` (0-based), within `127.N.128.1`–`127.N.255.254`.
pub fn service(n: u8, i: u32) -> Ipv4Addr {
    let i = i % (128 * 254);
    Ipv4Addr::new(127, n, (128 + i / 254) as u8, (i % 254 + 1) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_claims_get_two_blocks_and_addresses_stay_in_theirs() {
        let a = Block::claim().unwrap();
        let b = Block::claim().unwrap();
        assert_ne!(a.octet(), b.octet());
        assert_eq!(a.pod(0), Ipv4Addr::new(127, a.octet(), 0, 2));
        assert_eq!(a.pod(253), Ipv4Addr::new(127, a.octet(), 1, 2));
        assert_eq!(service(a.octet(), 0), Ipv4Addr::new(127, a.octet(), 128, 1));
        assert!(
            a.pod(1_000_000).octets()[2] < 128,
            "pods stay below the Service range"
        );
    }
}

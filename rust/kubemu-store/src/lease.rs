//! The lessor: leases with a TTL, the keys attached to them, and expiry order.

use std::collections::{BTreeSet, HashMap};

use crate::error::{Result, StoreError};
use crate::types::Bytes;

/// etcd's minimum TTL with default election settings (ceil of 1.5 s).
pub const MIN_TTL: i64 = 2;
/// etcd's maximum lease TTL (`MaxLeaseTTL`).
pub const MAX_TTL: i64 = 9_000_000_000;

/// One lease.
#[derive(Debug, Clone)]
pub(crate) struct Lease {
    /// Granted TTL in seconds (after raising to [`MIN_TTL`]).
    pub ttl: i64,
    /// Clock time (ms) at which the lease expires.
    pub deadline_ms: i64,
    /// Keys attached by puts with this lease.
    pub keys: BTreeSet<Bytes>,
}

/// All leases, indexed by id and by deadline.
#[derive(Debug, Default)]
pub(crate) struct Lessor {
    leases: HashMap<i64, Lease>,
    by_deadline: BTreeSet<(i64, i64)>,
    id_state: u64,
}

impl Lessor {
    pub fn get(&self, id: i64) -> Option<&Lease> {
        self.leases.get(&id)
    }

    pub fn contains(&self, id: i64) -> bool {
        self.leases.contains_key(&id)
    }

    /// Ids in ascending order.
    pub fn ids(&self) -> Vec<i64> {
        let mut v: Vec<i64> = self.leases.keys().copied().collect();
        v.sort_unstable();
        v
    }

    /// Ids, soonest expiry first (etcd's LeaseLeases order).
    pub fn ids_by_deadline(&self) -> Vec<i64> {
        self.by_deadline.iter().map(|(_, id)| *id).collect()
    }

    /// A fresh positive id not in use (etcd-like 63-bit ids, reproducible per store).
    pub fn next_id(&mut self) -> i64 {
        loop {
            // splitmix64 over a counter: spread-out ids without a RNG dependency.
            self.id_state = self.id_state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.id_state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let id = (z >> 1) as i64;
            if id > 0 && !self.leases.contains_key(&id) {
                return id;
            }
        }
    }

    /// Grants lease `id` (> 0, not in use) with `ttl` raised to the minimum.
    pub fn grant(&mut self, id: i64, ttl: i64, now_ms: i64) -> Result<i64> {
        if ttl > MAX_TTL {
            return Err(StoreError::LeaseTtlTooLarge);
        }
        if self.leases.contains_key(&id) {
            return Err(StoreError::LeaseExists);
        }
        let ttl = ttl.max(MIN_TTL);
        let deadline_ms = now_ms.saturating_add(ttl * 1000);
        self.leases.insert(
            id,
            Lease {
                ttl,
                deadline_ms,
                keys: BTreeSet::new(),
            },
        );
        self.by_deadline.insert((deadline_ms, id));
        Ok(ttl)
    }

    /// Removes the lease and returns it (its keys must then be deleted by the caller).
    pub fn remove(&mut self, id: i64) -> Option<Lease> {
        let l = self.leases.remove(&id)?;
        self.by_deadline.remove(&(l.deadline_ms, id));
        Some(l)
    }

    /// Resets the deadline to now + TTL; returns the TTL.
    pub fn renew(&mut self, id: i64, now_ms: i64) -> Result<i64> {
        let l = self.leases.get_mut(&id).ok_or(StoreError::LeaseNotFound)?;
        self.by_deadline.remove(&(l.deadline_ms, id));
        l.deadline_ms = now_ms.saturating_add(l.ttl * 1000);
        self.by_deadline.insert((l.deadline_ms, id));
        Ok(l.ttl)
    }

    /// Resets every deadline to now + TTL (after a restart, as etcd does).
    pub fn renew_all(&mut self, now_ms: i64) {
        self.by_deadline.clear();
        for (id, l) in &mut self.leases {
            l.deadline_ms = now_ms.saturating_add(l.ttl * 1000);
            self.by_deadline.insert((l.deadline_ms, *id));
        }
    }

    /// Ids whose deadline is at or before `now_ms`, in ascending id order.
    pub fn expired(&self, now_ms: i64) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .by_deadline
            .iter()
            .take_while(|(d, _)| *d <= now_ms)
            .map(|(_, id)| *id)
            .collect();
        ids.sort_unstable();
        ids
    }

    pub fn attach(&mut self, id: i64, key: &Bytes) {
        if let Some(l) = self.leases.get_mut(&id) {
            l.keys.insert(key.clone());
        }
    }

    pub fn detach(&mut self, id: i64, key: &[u8]) {
        if let Some(l) = self.leases.get_mut(&id) {
            l.keys.remove(key);
        }
    }

    /// Iterates (id, granted ttl) for persistence.
    pub fn iter_ttls(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.leases.iter().map(|(id, l)| (*id, l.ttl))
    }
}

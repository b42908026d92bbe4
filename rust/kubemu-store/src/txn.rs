//! Requests on the state: put, delete-range and txn, with etcd's validation.
//!
//! Order of work for every write, as etcd does it: static checks of the
//! request (op counts, empty keys, duplicate keys, size); the txn path (every
//! compare, nested ones included, evaluated on the state before the txn);
//! checks along that path (leases exist, ignore_* keys exist, read revisions
//! valid); the quota; and only then execution. So a failed request changes
//! nothing.

use std::collections::HashSet;

use crate::error::{empty_key, Result, StoreError};
use crate::index::empty_bytes;
use crate::state::{State, Writer};
use crate::types::{
    in_range, Alarm, Bytes, Compare, CompareOperand, CompareResult, CompareTarget,
    DeleteRangeRequest, DeleteRangeResponse, Event, KeyValue, PutRequest, PutResponse,
    RangeRequest, RangeResponse, RequestOp, ResponseOp, TxnRequest, TxnResponse,
};

/// A committed change set: its revision and events, for the WAL and watchers.
pub(crate) type Changes = Option<(i64, Vec<Event>)>;

fn check_put_static(p: &PutRequest) -> Result<()> {
    if p.key.is_empty() {
        return Err(empty_key());
    }
    if p.ignore_value && !p.value.is_empty() {
        return Err(StoreError::InvalidArgument(
            "etcdserver: value is provided".into(),
        ));
    }
    if p.ignore_lease && p.lease != 0 {
        return Err(StoreError::InvalidArgument(
            "etcdserver: lease is provided".into(),
        ));
    }
    Ok(())
}

/// etcd's `checkTxnRequest`: op counts (nested txns share the budget) and empty keys.
fn check_txn_static(t: &TxnRequest, max_ops: usize) -> Result<()> {
    let opc = t.compare.len().max(t.success.len()).max(t.failure.len());
    if opc > max_ops {
        return Err(StoreError::TooManyOps);
    }
    if t.compare.iter().any(|c| c.key.is_empty()) {
        return Err(empty_key());
    }
    for op in t.success.iter().chain(&t.failure) {
        match op {
            RequestOp::Range(r) if r.key.is_empty() => return Err(empty_key()),
            RequestOp::DeleteRange(d) if d.key.is_empty() => return Err(empty_key()),
            RequestOp::Put(p) => check_put_static(p)?,
            RequestOp::Txn(n) => check_txn_static(n, max_ops - opc)?,
            _ => {}
        }
    }
    Ok(())
}

/// A set of delete ranges, for etcd's duplicate-key rule.
#[derive(Default)]
struct Dels(Vec<(Vec<u8>, Vec<u8>)>);

impl Dels {
    fn hits(&self, key: &[u8]) -> bool {
        self.0.iter().any(|(k, e)| in_range(key, k, e))
    }
}

/// etcd's `checkIntervals`: a key may be put once per branch, and not put where
/// the same branch (or a nested one) deletes it. Returns the branch's puts and deletes.
fn check_intervals(ops: &[RequestOp]) -> Result<(HashSet<Vec<u8>>, Dels)> {
    let mut dels = Dels::default();
    for op in ops {
        if let RequestOp::DeleteRange(d) = op {
            dels.0.push((d.key.clone(), d.range_end.clone()));
        }
    }
    let mut puts: HashSet<Vec<u8>> = HashSet::new();
    for op in ops {
        let RequestOp::Txn(n) = op else { continue };
        let (puts_then, dels_then) = check_intervals(&n.success)?;
        let (puts_else, dels_else) = check_intervals(&n.failure)?;
        for k in &puts_then {
            if puts.contains(k) || dels.hits(k) {
                return Err(StoreError::DuplicateKey);
            }
            puts.insert(k.clone());
        }
        // The then and else branches exclude each other: a key in both is fine.
        for k in puts_else {
            if (puts.contains(&k) && !puts_then.contains(&k)) || dels.hits(&k) {
                return Err(StoreError::DuplicateKey);
            }
            puts.insert(k);
        }
        dels.0.extend(dels_then.0);
        dels.0.extend(dels_else.0);
    }
    for op in ops {
        let RequestOp::Put(p) = op else { continue };
        if puts.contains(&p.key) || dels.hits(&p.key) {
            return Err(StoreError::DuplicateKey);
        }
        puts.insert(p.key.clone());
    }
    Ok((puts, dels))
}

fn request_size(t: &TxnRequest) -> usize {
    let ops = t.success.iter().chain(&t.failure).map(|op| match op {
        RequestOp::Range(r) => r.key.len() + r.range_end.len(),
        RequestOp::Put(p) => p.key.len() + p.value.len(),
        RequestOp::DeleteRange(d) => d.key.len() + d.range_end.len(),
        RequestOp::Txn(n) => request_size(n),
    });
    let cmps = t.compare.iter().map(|c| {
        c.key.len()
            + c.range_end.len()
            + match &c.operand {
                CompareOperand::Value(v) => v.len(),
                CompareOperand::Int(_) => 0,
            }
    });
    ops.chain(cmps).sum()
}

fn has_put(t: &TxnRequest) -> bool {
    t.success.iter().chain(&t.failure).any(|op| match op {
        RequestOp::Put(_) => true,
        RequestOp::Txn(n) => has_put(n),
        _ => false,
    })
}

fn put_cost(p: &PutRequest) -> i64 {
    (p.key.len() + p.value.len()) as i64 + crate::index::ENTRY_OVERHEAD
}

fn txn_cost(t: &TxnRequest) -> i64 {
    let branch = |ops: &[RequestOp]| -> i64 {
        ops.iter()
            .map(|op| match op {
                RequestOp::Put(p) => put_cost(p),
                RequestOp::Txn(n) => txn_cost(n),
                _ => 0,
            })
            .sum()
    };
    branch(&t.success).max(branch(&t.failure))
}

fn compare_kv(c: &Compare, kv: &KeyValue) -> bool {
    let ord = match (&c.target, &c.operand) {
        (CompareTarget::Value, CompareOperand::Value(v)) => kv.value[..].cmp(&v[..]),
        (CompareTarget::Value, CompareOperand::Int(_)) => kv.value[..].cmp(&[][..]),
        (t, op) => {
            let want = match op {
                CompareOperand::Int(i) => *i,
                CompareOperand::Value(_) => 0,
            };
            let have = match t {
                CompareTarget::Version => kv.version,
                CompareTarget::Create => kv.create_revision,
                CompareTarget::Mod => kv.mod_revision,
                CompareTarget::Lease => kv.lease,
                CompareTarget::Value => unreachable!("handled above"),
            };
            have.cmp(&want)
        }
    };
    match c.result {
        CompareResult::Equal => ord.is_eq(),
        CompareResult::NotEqual => !ord.is_eq(),
        CompareResult::Greater => ord.is_gt(),
        CompareResult::Less => ord.is_lt(),
    }
}

fn zero_kv() -> KeyValue {
    KeyValue {
        key: empty_bytes(),
        value: empty_bytes(),
        create_revision: 0,
        mod_revision: 0,
        version: 0,
        lease: 0,
    }
}

impl State {
    /// True if every live key the compare names (or the absent key as zeros) passes.
    fn compare(&self, c: &Compare, rev: i64) -> bool {
        let mut any = false;
        for (k, e) in self.live_iter(&c.key, &c.range_end, rev) {
            any = true;
            if !compare_kv(c, &e.to_kv(k)) {
                return false;
            }
        }
        if any {
            return true;
        }
        c.target != CompareTarget::Value && compare_kv(c, &zero_kv())
    }

    /// etcd's `compareToPath`: the branch taken at each txn, depth first, all
    /// evaluated before the txn writes anything.
    fn txn_path(&self, t: &TxnRequest, rev: i64, path: &mut Vec<bool>) {
        let ok = t.compare.iter().all(|c| self.compare(c, rev));
        path.push(ok);
        for op in if ok { &t.success } else { &t.failure } {
            if let RequestOp::Txn(n) = op {
                self.txn_path(n, rev, path);
            }
        }
    }

    fn check_put_state(&self, p: &PutRequest) -> Result<()> {
        if (p.ignore_value || p.ignore_lease)
            && self.live_iter(&p.key, &[], self.current).next().is_none()
        {
            return Err(StoreError::KeyNotFound);
        }
        if p.lease != 0 && !self.lessor.contains(p.lease) {
            return Err(StoreError::LeaseNotFound);
        }
        Ok(())
    }

    /// etcd's `checkTxn`: checks along the chosen path against the pre-txn state.
    fn check_path(&self, t: &TxnRequest, path: &[bool], at: &mut usize) -> Result<()> {
        let ok = path[*at];
        *at += 1;
        for op in if ok { &t.success } else { &t.failure } {
            match op {
                RequestOp::Range(r) => {
                    self.check_rev(r.revision, self.current)?;
                }
                RequestOp::Put(p) => self.check_put_state(p)?,
                RequestOp::DeleteRange(_) => {}
                RequestOp::Txn(n) => self.check_path(n, path, at)?,
            }
        }
        Ok(())
    }

    fn check_quota(&mut self, cost: i64) -> Result<()> {
        if self.alarms.contains(&Alarm::NoSpace) {
            return Err(StoreError::NoSpace);
        }
        if cost > 0 && self.size_in_use + cost > self.limits.quota_bytes {
            self.alarms.insert(Alarm::NoSpace);
            return Err(StoreError::NoSpace);
        }
        Ok(())
    }

    /// The put as executed (checks already passed).
    fn exec_put(&mut self, w: &mut Writer, p: &PutRequest) -> PutResponse {
        let (mut value, mut lease) = (None, p.lease);
        if p.ignore_value || p.ignore_lease {
            if let Some((_, e)) = self.live_iter(&p.key, &[], w.read_rev()).next() {
                if p.ignore_value {
                    value = e.value.clone();
                }
                if p.ignore_lease {
                    lease = e.lease;
                }
            }
        }
        let value = value.unwrap_or_else(|| Bytes::from(&p.value[..]));
        let prev = self.put(w, Bytes::from(&p.key[..]), value, lease);
        PutResponse {
            revision: 0,
            prev_kv: if p.prev_kv { prev } else { None },
        }
    }

    fn exec_delete(&mut self, w: &mut Writer, d: &DeleteRangeRequest) -> DeleteRangeResponse {
        let prevs = self.delete_range(w, &d.key, &d.range_end);
        DeleteRangeResponse {
            revision: 0,
            deleted: prevs.len() as i64,
            prev_kvs: if d.prev_kv { prevs } else { Vec::new() },
        }
    }

    fn exec_txn(
        &mut self,
        w: &mut Writer,
        t: &TxnRequest,
        path: &[bool],
        at: &mut usize,
    ) -> TxnResponse {
        let ok = path[*at];
        *at += 1;
        let mut responses = Vec::new();
        // Each response reports the revision its op saw (as etcd): the txn's
        // own once it has written, the one before until then.
        for op in if ok { &t.success } else { &t.failure } {
            responses.push(match op {
                RequestOp::Range(r) => {
                    let rr = self
                        .range(r, w.read_rev())
                        .expect("range checked before execution");
                    ResponseOp::Range(RangeResponse {
                        revision: w.read_rev(),
                        ..rr
                    })
                }
                RequestOp::Put(p) => {
                    let mut r = self.exec_put(w, p);
                    r.revision = w.read_rev();
                    ResponseOp::Put(r)
                }
                RequestOp::DeleteRange(d) => {
                    let mut r = self.exec_delete(w, d);
                    r.revision = w.read_rev();
                    ResponseOp::DeleteRange(r)
                }
                RequestOp::Txn(n) => ResponseOp::Txn(self.exec_txn(w, n, path, at)),
            });
        }
        TxnResponse {
            revision: 0,
            succeeded: ok,
            responses,
        }
    }

    /// Runs a txn. Returns the response (nested txn responses carry the
    /// txn's revision; other inner responses the revision their op saw) and
    /// the changes to commit.
    pub fn txn(&mut self, t: &TxnRequest) -> Result<(TxnResponse, Changes)> {
        check_txn_static(t, self.limits.max_txn_ops)?;
        check_intervals(&t.success)?;
        check_intervals(&t.failure)?;
        if request_size(t) > self.limits.max_request_bytes {
            return Err(StoreError::RequestTooLarge);
        }
        let mut path = Vec::new();
        self.txn_path(t, self.current, &mut path);
        self.check_path(t, &path, &mut 0)?;
        if has_put(t) {
            self.check_quota(txn_cost(t))?;
        }
        let mut w = self.begin();
        let mut resp = self.exec_txn(&mut w, t, &path, &mut 0);
        let changes = self.finish(w);
        set_revision(&mut resp, self.current);
        Ok((resp, changes))
    }

    /// A single put (a txn of one put, without the txn overhead).
    pub fn put_request(&mut self, p: &PutRequest) -> Result<(PutResponse, Changes)> {
        check_put_static(p)?;
        if p.key.len() + p.value.len() > self.limits.max_request_bytes {
            return Err(StoreError::RequestTooLarge);
        }
        // A plain put checks its lease before ignore_* (etcd's apply `Put`);
        // inside a txn the order is the other way round (`checkRequestPut`).
        if p.lease != 0 && !self.lessor.contains(p.lease) {
            return Err(StoreError::LeaseNotFound);
        }
        self.check_put_state(p)?;
        self.check_quota(put_cost(p))?;
        let mut w = self.begin();
        let mut resp = self.exec_put(&mut w, p);
        let changes = self.finish(w);
        resp.revision = self.current;
        Ok((resp, changes))
    }

    /// A single delete-range; no revision is used when nothing is deleted.
    pub fn delete_request(
        &mut self,
        d: &DeleteRangeRequest,
    ) -> Result<(DeleteRangeResponse, Changes)> {
        if d.key.is_empty() {
            return Err(empty_key());
        }
        let mut w = self.begin();
        let mut resp = self.exec_delete(&mut w, d);
        let changes = self.finish(w);
        resp.revision = self.current;
        Ok((resp, changes))
    }

    /// A range as of `visible` (the newest revision readers may see).
    pub fn range_request(
        &self,
        r: &RangeRequest,
        visible: i64,
    ) -> Result<crate::types::RangeResponse> {
        if r.key.is_empty() {
            return Err(empty_key());
        }
        self.range(r, visible)
    }

    /// Revokes a lease: deletes its keys (ascending) in one revision.
    pub fn revoke(&mut self, id: i64) -> Result<Changes> {
        let lease = self.lessor.remove(id).ok_or(StoreError::LeaseNotFound)?;
        let mut w = self.begin();
        for k in &lease.keys {
            self.delete_range(&mut w, k, &[]);
        }
        Ok(self.finish(w))
    }

    /// Grants a lease (id 0 picks one); refused while NOSPACE is raised.
    pub fn grant(&mut self, id: i64, ttl: i64, now_ms: i64) -> Result<(i64, i64)> {
        if id < 0 {
            return Err(StoreError::InvalidArgument(
                "etcdserver: lease id must be positive".into(),
            ));
        }
        if self.alarms.contains(&Alarm::NoSpace) {
            return Err(StoreError::NoSpace);
        }
        let id = if id == 0 { self.lessor.next_id() } else { id };
        let ttl = self.lessor.grant(id, ttl, now_ms)?;
        Ok((id, ttl))
    }
}

/// Sets the revision of a txn response and of the txns nested in it.
fn set_revision(t: &mut TxnResponse, rev: i64) {
    t.revision = rev;
    for r in &mut t.responses {
        if let ResponseOp::Txn(x) = r {
            set_revision(x, rev);
        }
    }
}

/// Per item of [`State::create_absent`]: the revision it was created at, or
/// `None` when its key already existed (in the state or earlier in the batch).
pub(crate) type Created = Vec<Option<i64>>;

impl State {
    /// Creates each `(key, value)` whose key has no live version, as one txn
    /// of nested `if mod(key) == 0 then put(key, value)` txns would: the
    /// same checks (empty key, request size, quota for every put of the
    /// batch, NOSPACE) before anything is written, one revision for the
    /// whole batch when anything was created, none otherwise. Unlike such a
    /// txn, a key given twice is not an error: the first creates it, the
    /// second finds it existing. On error nothing is written.
    pub(crate) fn create_absent(&mut self, items: &[(Bytes, Bytes)]) -> Result<(Created, Changes)> {
        let mut size = 0usize;
        let mut cost = 0i64;
        for (k, v) in items {
            if k.is_empty() {
                return Err(empty_key());
            }
            // The compare's key and the put's key and value.
            size += 2 * k.len() + v.len();
            cost += (k.len() + v.len()) as i64 + crate::index::ENTRY_OVERHEAD;
        }
        if size > self.limits.max_request_bytes {
            return Err(StoreError::RequestTooLarge);
        }
        if !items.is_empty() {
            self.check_quota(cost)?;
        }
        let mut w = self.begin();
        let mut out = Vec::with_capacity(items.len());
        for (k, v) in items {
            // At the writer's revision: a key put earlier in this batch is live.
            if self.live_iter(k, &[], w.main).next().is_some() {
                out.push(None);
                continue;
            }
            self.put(&mut w, k.clone(), v.clone(), 0);
            out.push(Some(w.main));
        }
        let changes = self.finish(w);
        Ok((out, changes))
    }
}

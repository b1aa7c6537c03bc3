//! Memory as of the visible writes: loads by (epoch, address) key, and, in place (AP-MDM), the
//! canvas positions writes target.

use super::token::sf;
use super::Compiler;
use crate::seq::{BinaryOp as B, Prefer, Value as V};

/// How a write finds its cell's position on an AP-MDM canvas: a decoded cell by address, else a
/// fresh (still masked) cell by its rank among the fresh ones, whose addresses follow the
/// decoded cells'.
#[derive(Clone, Copy)]
pub(in crate::compile) struct Targets {
    /// A decoded cell's address, else -1.
    pub cell_key: V,
    /// A fresh cell's rank, else -1.
    pub fresh_key: V,
    /// How many cells are decoded.
    pub decoded: V,
}

/// The visible writes, per write site: the memory key as a pair (scope epoch, or -1 for no
/// visible write; address), the priority as a pair (round; inverted rank: larger wins), the value;
/// and the given cells' key pair and value.
#[derive(Clone)]
pub(super) struct Memory {
    pub(super) epochs: Vec<V>,
    pub(super) addrs: Vec<V>,
    pub(super) rounds: Vec<V>,
    pub(super) invs: Vec<V>,
    pub(super) values: Vec<V>,
    /// Per write site, its visible target position (AP-MDM; empty in MDM).
    pub(super) targets: Vec<V>,
    pub(super) given_epoch: V,
    pub(super) given_addr: V,
    pub(super) given_value: V,
}

impl Compiler {
    /// The value of memory at (epoch, addr) as of the visible writes: the highest-priority
    /// write, else the given cell, else 0.
    pub(in crate::compile) fn load(&mut self, epoch: V, addr: V) -> V {
        self.load_full(epoch, addr).0
    }

    /// `load`, with a flag: some visible write targets (epoch, addr). Per write site one lookup
    /// set on the tuple key, preferring the lexicographically largest (round, inverted rank); the
    /// sites merge in order, a later site winning ties (a processor's last write).
    pub(in crate::compile) fn load_full(&mut self, epoch: V, addr: V) -> (V, V) {
        let m = self.mem.clone().expect("memory is set up before loads");
        let (z, one) = (self.k(0), self.k(1));
        let (mut has, mut round, mut inv, mut value) = (z, z, z, z);
        for s in 0..m.epochs.len() {
            let key = (m.epochs[s], m.addrs[s]);
            let q = (epoch, addr);
            let by = Prefer::MaxByPair(m.rounds[s], m.invs[s]);
            let found = self.lookup2(key, q, by, one, z);
            let r = if self.in_place {
                z
            } else {
                self.lookup2(key, q, by, m.rounds[s], z)
            };
            let i = self.lookup2(key, q, by, m.invs[s], z);
            let v = self.lookup2(key, q, by, m.values[s], z);
            if s == 0 {
                (has, round, inv, value) = (found, r, i, v);
                continue;
            }
            let take = self.lex_at_least(has, found, (r, i), (round, inv));
            round = self.sel(take, r, round);
            inv = self.sel(take, i, inv);
            value = self.sel(take, v, value);
            has = self.bin(B::Or, has, found);
        }
        let g = self.lookup2(
            (m.given_epoch, m.given_addr),
            (epoch, addr),
            Prefer::Latest,
            m.given_value,
            z,
        );
        (self.sel(has, value, g), has)
    }

    /// Whether a candidate (`found`, with priority `p`) replaces the current best (`has`, `best`):
    /// found, and either no best yet or `p >= best` lexicographically.
    fn lex_at_least(&mut self, has: V, found: V, p: (V, V), best: (V, V)) -> V {
        let above = self.bin(B::Lt, best.0, p.0);
        let level = self.bin(B::Eq, best.0, p.0);
        let at_least = self.bin(B::Le, best.1, p.1);
        let tie = self.and(level, at_least);
        let better = self.bin(B::Or, above, tie);
        let none = self.not(has);
        let wins = self.bin(B::Or, none, better);
        self.and(found, wins)
    }

    /// In-place memory: the winning visible write whose target position is `pos`, as
    /// (written, value, address).
    pub(in crate::compile) fn write_at(&mut self, pos: V) -> (V, V, V) {
        let m = self.mem.clone().expect("memory is set up before loads");
        let (z, one) = (self.k(0), self.k(1));
        let (mut has, mut inv, mut value, mut addr) = (z, z, z, z);
        for s in 0..m.targets.len() {
            let by = Prefer::MaxBy(m.invs[s]);
            let a = self.b.field(sf::WRITES + sf::PER_WRITE * s + 2);
            let found = self.lookup(m.targets[s], pos, by, one, z);
            let i = self.lookup(m.targets[s], pos, by, m.invs[s], z);
            let v = self.lookup(m.targets[s], pos, by, m.values[s], z);
            let a = self.lookup(m.targets[s], pos, by, a, z);
            let take = self.lex_at_least(has, found, (z, i), (z, inv));
            inv = self.sel(take, i, inv);
            value = self.sel(take, v, value);
            addr = self.sel(take, a, addr);
            has = self.bin(B::Or, has, found);
        }
        (has, value, addr)
    }

    /// In-place memory: the canvas position of the cell at address `key` (-1 for none): a
    /// decoded cell, else a fresh one by rank.
    pub(super) fn target_of(&mut self, key: V, t: Targets) -> V {
        let m1 = self.k(-1);
        let idx = self.b.index();
        let rank = self.bin(B::Sub, key, t.decoded);
        let fresh = self.lookup(t.fresh_key, rank, Prefer::Latest, idx, m1);
        self.lookup(t.cell_key, key, Prefer::Latest, idx, fresh)
    }
}

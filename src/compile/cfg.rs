//! The control-flow graph of a PRAM program's sequential part, as the compiled schedules see it.
//!
//! Nodes are either *round nodes* (a statement that costs one round: an assignment, an `if` or
//! `while` test, a `for` test, a `pardo`) or *free nodes* (an action that costs no round: a `for`
//! loop's set-up and step, entering or leaving an `alloc` scope). Every loop passes through a
//! round node, so the path of free nodes from any node to the next round node is finite and
//! static: a compiled step applies a whole path at once.

use crate::pram::program::{ArrayId, Expr, Program, Register, Round, Stmt};

/// A node id; node 0 is the end of the program.
pub type NodeId = usize;

/// The end of the program.
pub const END: NodeId = 0;

/// What a round node does.
#[derive(Debug, Clone, Copy)]
pub enum RoundKind<'p> {
    /// `array[index] = value` by one processor.
    Assign {
        /// The array.
        array: ArrayId,
        /// The element.
        index: &'p Expr,
        /// The value.
        value: &'p Expr,
    },
    /// An `if` or `while` test by one processor: successor 1 when non-zero, else successor 0.
    Test(&'p Expr),
    /// A `for` test (counter < limit): successor 1 enters the body, successor 0 leaves.
    ForTest(usize),
    /// A parallel round.
    Pardo(&'p Round),
}

/// A free action (no round).
#[derive(Debug, Clone, Copy)]
pub enum Action<'p> {
    /// `for` set-up: counter := lo, limit := hi (both evaluated once, reads allowed).
    ForInit {
        /// The loop.
        the_loop: usize,
        /// First value.
        lo: &'p Expr,
        /// One past the last value.
        hi: &'p Expr,
    },
    /// Entering the body: the loop variable := counter.
    ForVar {
        /// The loop.
        the_loop: usize,
        /// The loop variable.
        var: Register,
    },
    /// After the body: counter := counter + 1.
    ForStep(usize),
    /// Entering `alloc array[size]`.
    AllocEnter {
        /// The scoped array.
        array: ArrayId,
        /// Its length.
        size: &'p Expr,
        /// The order of this `alloc` statement in the program (for unique epochs).
        site: usize,
    },
    /// Leaving the scope: its cells are freed (last in, first out).
    AllocExit(ArrayId),
}

/// A node of the graph.
#[derive(Debug, Clone)]
pub enum Node<'p> {
    /// The end of the program.
    End,
    /// A round node: its kind, source line and successors (one, or two for tests: `[zero,
    /// non-zero]`).
    Round {
        /// What it does.
        kind: RoundKind<'p>,
        /// Source line of the statement.
        line: u32,
        /// Successors.
        next: Vec<NodeId>,
    },
    /// A free action, then `next`.
    Free {
        /// The action.
        action: Action<'p>,
        /// Source line of the statement.
        line: u32,
        /// The successor.
        next: NodeId,
    },
    /// A placeholder while a loop's body is built.
    Pending,
}

/// The graph of a program.
#[derive(Debug, Clone)]
pub struct Cfg<'p> {
    /// All nodes; [`END`] first.
    pub nodes: Vec<Node<'p>>,
    /// Where the program starts.
    pub entry: NodeId,
    /// Round nodes in creation order; a round node's program counter is its index here + 1.
    pub rounds: Vec<NodeId>,
    /// Number of `for` loops (each has a counter and a limit register).
    pub loops: usize,
    /// Number of `alloc` statements.
    pub allocs: usize,
}

impl<'p> Cfg<'p> {
    /// Builds the graph of `program`.
    pub fn of(program: &'p Program) -> Cfg<'p> {
        let mut g = Cfg {
            nodes: vec![Node::End],
            entry: END,
            rounds: Vec::new(),
            loops: 0,
            allocs: 0,
        };
        g.entry = g.block(&program.body, END);
        g
    }

    fn push(&mut self, node: Node<'p>) -> NodeId {
        if matches!(node, Node::Round { .. }) {
            self.rounds.push(self.nodes.len());
        }
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    fn block(&mut self, stmts: &'p [Stmt], next: NodeId) -> NodeId {
        stmts.iter().rev().fold(next, |next, s| self.stmt(s, next))
    }

    fn stmt(&mut self, s: &'p Stmt, next: NodeId) -> NodeId {
        match s {
            Stmt::Assign {
                array,
                index,
                value,
                span,
            } => self.push(Node::Round {
                kind: RoundKind::Assign {
                    array: *array,
                    index,
                    value,
                },
                line: span.line,
                next: vec![next],
            }),
            Stmt::If {
                cond,
                then,
                otherwise,
                span,
            } => {
                let t = self.block(then, next);
                let e = self.block(otherwise, next);
                self.push(Node::Round {
                    kind: RoundKind::Test(cond),
                    line: span.line,
                    next: vec![e, t],
                })
            }
            Stmt::While { cond, body, span } => {
                let test = self.nodes.len();
                self.nodes.push(Node::Pending);
                let b = self.block(body, test);
                self.nodes[test] = Node::Round {
                    kind: RoundKind::Test(cond),
                    line: span.line,
                    next: vec![next, b],
                };
                self.rounds.push(test);
                test
            }
            Stmt::For {
                var,
                lo,
                hi,
                body,
                span,
            } => {
                let the_loop = self.loops;
                self.loops += 1;
                let line = span.line;
                let test = self.nodes.len();
                self.nodes.push(Node::Pending);
                let step = self.push(Node::Free {
                    action: Action::ForStep(the_loop),
                    line,
                    next: test,
                });
                let b = self.block(body, step);
                let start = self.push(Node::Free {
                    action: Action::ForVar {
                        the_loop,
                        var: *var,
                    },
                    line,
                    next: b,
                });
                self.nodes[test] = Node::Round {
                    kind: RoundKind::ForTest(the_loop),
                    line,
                    next: vec![next, start],
                };
                self.rounds.push(test);
                self.push(Node::Free {
                    action: Action::ForInit { the_loop, lo, hi },
                    line,
                    next: test,
                })
            }
            Stmt::Pardo(round) => self.push(Node::Round {
                kind: RoundKind::Pardo(round),
                line: round.span.line,
                next: vec![next],
            }),
            Stmt::Alloc {
                array,
                size,
                body,
                span,
            } => {
                let site = self.allocs;
                self.allocs += 1;
                let exit = self.push(Node::Free {
                    action: Action::AllocExit(*array),
                    line: span.line,
                    next,
                });
                let b = self.block(body, exit);
                self.push(Node::Free {
                    action: Action::AllocEnter {
                        array: *array,
                        size,
                        site,
                    },
                    line: span.line,
                    next: b,
                })
            }
        }
    }

    /// The free actions from `node` up to the next round node (or the end), and that node.
    pub fn path(&self, mut node: NodeId) -> (Vec<(Action<'p>, u32)>, NodeId) {
        let mut actions = Vec::new();
        while let Node::Free { action, line, next } = &self.nodes[node] {
            actions.push((*action, *line));
            node = *next;
        }
        (actions, node)
    }

    /// The program counter of a round node (1-based), or 0 for the end.
    pub fn pc(&self, node: NodeId) -> i64 {
        self.rounds
            .iter()
            .position(|&r| r == node)
            .map_or(0, |i| i as i64 + 1)
    }
}

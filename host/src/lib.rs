//! netc's host layer: read the live state of what netc owns, plan the
//! difference to a node's desired state, apply it safely.
//!
//! ```text
//!  HostIr + artifacts ──desired::build──▶ State ─┐
//!                                               ├─ plan::diff ─▶ Plan ─▶ render (text / JSON)
//!  host / netns ─────────state::read────▶ State ─┘                  └──▶ apply ─▶ verify
//!                                          │                                 │ (failure)
//!                                          └──────── snapshot ◀── rollback ◀─┘
//! ```
//!
//! | module        | one concern                                                        |
//! |---------------|--------------------------------------------------------------------|
//! | [`exec`]      | running ip / bridge / nft / iptables / birdc, in a netns, recording writes |
//! | [`state`]     | readers: links, addresses, routes, neighbours, FDB, nft, iptables, BIRD file |
//! | [`desired`]   | IR + emitted artifacts → the desired `State` (firewall canonicalised in a scratch netns) |
//! | [`plan`]      | live vs desired → changes (+ ~ -/+ -) and the commands, in dependency order |
//! | [`render`]    | terraform-style text (colour on a TTY), JSON, secrets masked        |
//! | [`preflight`] | guard (node address present), kernel features, tools — before any change |
//! | [`apply`]     | run the steps; on failure roll back to the snapshot; verify          |
//! | [`lock`]      | one apply at a time per target (flock)                              |
//! | [`confirm`]   | commit-confirmed: pending snapshot + detached reverter              |
//! | [`saved`]     | saved plan files and the stale-plan check                           |
//! | [`destroy`]   | `netc destroy`: the desired state of a host netc leaves            |
//! | [`scope`]     | `--only` (plan some steps, verify those) and `--replace`            |
//! | [`cache`]     | canonicalised firewalls by artifact hash (skip the scratch load)    |
//! | [`status`]    | BIRD's protocols (birdc), sessions and routes against the IR, last apply |
//!
//! Everything that changes the target goes through [`exec::Exec`], so tests
//! can count writes (a second apply must perform none).

pub mod apply;
pub mod bird;
pub mod cache;
pub mod confirm;
pub mod desired;
pub mod destroy;
pub mod error;
pub mod exec;
pub mod lock;
pub mod plan;
pub mod preflight;
pub mod render;
pub mod saved;
pub mod scope;
pub mod scratch;
pub mod session;
pub mod state;
pub mod status;
pub mod target;
pub mod verify;

pub use apply::{ApplyFailure, ApplyReport};
pub use desired::Backend;
pub use plan::{Plan, Step};
pub use state::State;
pub use target::Target;

pub use error::{
    DesiredError, Error, GuardProblem, LockError, PendingError, PreflightError, ReverterStart,
    StaleError, UsageError,
};

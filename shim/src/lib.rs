//! weft: zero-code OpenTelemetry for Go.
//!
//! * [`cli`] the `weft` command line.
//! * [`sdk`] the wrapped Go SDK, [`trim`] its cache; [`gomode`] its `bin/go`; [`compile`] its compile shim, [`overlaid`] its cover and vet shims.
//! * [`rules`] the rule set; [`weave`] the source rewriting.
//! * [`receiver`] the built-in OTLP receiver and trace printer.
pub mod cli;
pub mod compile;
pub mod gcflags;
pub mod embedded {
    //! The runtime and rules, embedded at build time (see build.rs).
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}
pub mod golist;
pub mod gomode;
pub mod inspect;
pub mod lock;
pub mod overlaid;
pub mod hookapi;
pub mod package;
pub mod plancache;
pub mod receiver;
pub mod rules;
pub mod sdk;
pub mod stamp;
pub mod trim;
pub mod view;
pub mod weave;

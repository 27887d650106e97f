//! relayaudit's library: policy, relay view, replay engine and outputs. The
//! `relayaudit` binary is a thin wrapper over [`run`].

pub mod cli;
pub mod export;
pub mod input;
pub mod note;
pub mod policy;
pub mod relay_view;
pub mod replay;
pub mod report;
pub mod run;
pub mod summary;
pub mod text;

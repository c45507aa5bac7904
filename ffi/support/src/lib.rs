//! The native-boundary machinery shared by every C library in this repository.
//!
//! Each backend's FFI crate (`ffi/durable-streams`, later `ffi/s2`) defines its own C types,
//! exports and error object, and builds them from these pieces, so that the subtle parts are
//! written and tested once:
//! - [`guard`]: the panic firewall (nothing unwinds into C);
//! - [`callback`]: completion callbacks that fire exactly once, and user data the library owns;
//! - [`handles`]: boxing handles for C, borrowing them back, and live-handle counting;
//! - [`runtime`]: the one Tokio runtime of a native library, and starting operations on it;
//! - [`strings`]: C strings and byte buffers in and out, checked;
//! - [`cancel`]: the state behind a C cancellation handle;
//! - [`error`]: what a backend's error object must offer, and argument errors;
//! - `header` (feature `header`): generating and checking the committed C header.
//!
//! A backend's error type implements [`error::BoundaryError`]; everything else is generic over it.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod callback;
pub mod cancel;
pub mod error;
pub mod guard;
pub mod handles;
#[cfg(feature = "header")]
pub mod header;
pub mod runtime;
pub mod strings;

pub use error::{ArgError, BoundaryError};

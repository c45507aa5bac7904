//! The C completion callbacks, each over the shared exactly-once guard.

use std::ffi::{CString, c_char, c_void};

pub(crate) use ffi_support::callback::{Callback, Once, UserData};

use crate::batch::S2ReadBatch;
use crate::error::S2Error;
use crate::pipeline::Coalesce;
use crate::read_session::S2ReadSession;
use crate::stream::{S2AppendAck, S2Position};

/// Completion of an operation without a value: `error` is NULL on success, else owned by the
/// callee.
pub type S2DoneCallback = Option<unsafe extern "C" fn(user_data: *mut c_void, error: *mut S2Error)>;

/// Completion with a JSON document (`json` borrowed for the call; NULL on error).
pub type S2JsonCallback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, json: *const c_char, error: *mut S2Error)>;

/// Completion with a position (borrowed for the call; NULL on error).
pub type S2PositionCallback = Option<
    unsafe extern "C" fn(user_data: *mut c_void, position: *const S2Position, error: *mut S2Error),
>;

/// Completion of an append (`ack` borrowed for the call; NULL on error).
pub type S2AppendCallback = Option<
    unsafe extern "C" fn(user_data: *mut c_void, ack: *const S2AppendAck, error: *mut S2Error),
>;

/// Acknowledgement of one producer record: its sequence number and its batch's positions
/// (`batch` borrowed for the call; NULL on error, and `seq_num` 0).
pub type S2RecordAckCallback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        seq_num: u64,
        batch: *const S2AppendAck,
        error: *mut S2Error,
    ),
>;

/// Acknowledgement of a run of producer records submitted with `s2_producer_try_submit_counted`
/// or `s2_producer_submit_counted`: `count` consecutive records, the first with sequence number
/// `first_seq_num`, all stored (`error` NULL); or one record that was not (`count` 1,
/// `first_seq_num` 0, `error` owned by the callee).
pub type S2CountedAckCallback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        first_seq_num: u64,
        count: u64,
        error: *mut S2Error,
    ),
>;

/// Completion with records: `batch` is owned by the callee (free it with `s2_batch_free`);
/// NULL with a NULL error means the read or session ended.
pub type S2BatchCallback = Option<
    unsafe extern "C" fn(user_data: *mut c_void, batch: *mut S2ReadBatch, error: *mut S2Error),
>;

/// Completion of `s2_read_session_open`: `session` is owned by the callee (free it with
/// `s2_read_session_free`); NULL on error.
pub type S2ReadSessionCallback = Option<
    unsafe extern "C" fn(user_data: *mut c_void, session: *mut S2ReadSession, error: *mut S2Error),
>;

fn owned_error(result: &mut Option<Box<S2Error>>) -> *mut S2Error {
    result.take().map_or(std::ptr::null_mut(), Box::into_raw)
}

/// Defines a completion type: a C function pointer with its user data that delivers one
/// `Value` through `deliver(function, user_data, result)`.
macro_rules! completion {
    ($name:ident, $function:ty, $value:ty, $deliver:expr) => {
        /// A C callback with its user data (cbindgen:ignore).
        pub(crate) struct $name {
            function: $function,
            user_data: UserData,
        }

        impl $name {
            /// `None` when the C function pointer is NULL (the call then does nothing).
            pub(crate) fn new(
                function: Option<$function>,
                user_data: *mut c_void,
            ) -> Option<Once<$name>> {
                function.map(|function| {
                    Once::new($name {
                        function,
                        user_data: UserData(user_data),
                    })
                })
            }
        }

        impl Callback for $name {
            type Value = $value;
            type Error = S2Error;

            fn invoke(&self, result: Result<$value, Box<S2Error>>) {
                let deliver: fn($function, *mut c_void, Result<$value, Box<S2Error>>) = $deliver;
                deliver(self.function, self.user_data.0, result);
            }
        }
    };
}

type DoneFn = unsafe extern "C" fn(*mut c_void, *mut S2Error);
type JsonFn = unsafe extern "C" fn(*mut c_void, *const c_char, *mut S2Error);
type PositionFn = unsafe extern "C" fn(*mut c_void, *const S2Position, *mut S2Error);
type AppendFn = unsafe extern "C" fn(*mut c_void, *const S2AppendAck, *mut S2Error);
type RecordAckFn = unsafe extern "C" fn(*mut c_void, u64, *const S2AppendAck, *mut S2Error);
type CountedAckFn = unsafe extern "C" fn(*mut c_void, u64, u64, *mut S2Error);
type BatchFn = unsafe extern "C" fn(*mut c_void, *mut S2ReadBatch, *mut S2Error);
type ReadSessionFn = unsafe extern "C" fn(*mut c_void, *mut S2ReadSession, *mut S2Error);

completion!(Done, DoneFn, (), |function, user_data, result| {
    let mut error = result.err();
    // SAFETY: a non-NULL caller function with its own user data; the error is handed over.
    unsafe { function(user_data, owned_error(&mut error)) }
});

completion!(Json, JsonFn, String, |function, user_data, result| {
    match result {
        Ok(json) => {
            let json = CString::new(json).unwrap_or_default();
            // SAFETY: as above; the JSON is borrowed for the call.
            unsafe { function(user_data, json.as_ptr(), std::ptr::null_mut()) }
        }
        // SAFETY: as above; the error is handed over.
        Err(error) => unsafe { function(user_data, std::ptr::null(), Box::into_raw(error)) },
    }
});

completion!(
    Position,
    PositionFn,
    S2Position,
    |function, user_data, result| {
        match result {
            // SAFETY: as above; the position is borrowed for the call.
            Ok(position) => unsafe { function(user_data, &position, std::ptr::null_mut()) },
            // SAFETY: as above; the error is handed over.
            Err(error) => unsafe { function(user_data, std::ptr::null(), Box::into_raw(error)) },
        }
    }
);

completion!(
    Append,
    AppendFn,
    S2AppendAck,
    |function, user_data, result| {
        match result {
            // SAFETY: as above; the ack is borrowed for the call.
            Ok(ack) => unsafe { function(user_data, &ack, std::ptr::null_mut()) },
            // SAFETY: as above; the error is handed over.
            Err(error) => unsafe { function(user_data, std::ptr::null(), Box::into_raw(error)) },
        }
    }
);

completion!(
    RecordAck,
    RecordAckFn,
    (u64, S2AppendAck),
    |function, user_data, result| {
        match result {
            // SAFETY: as above; the batch ack is borrowed for the call.
            Ok((seq_num, ack)) => unsafe {
                function(user_data, seq_num, &ack, std::ptr::null_mut())
            },
            // SAFETY: as above; the error is handed over.
            Err(error) => unsafe { function(user_data, 0, std::ptr::null(), Box::into_raw(error)) },
        }
    }
);

/// What a producer's acknowledgement delivers: a record's sequence number and its batch's
/// positions, and how many consecutive records the delivery stands for (1 until runs are joined).
#[derive(Clone, Copy)]
pub(crate) struct RecordsAcked {
    pub(crate) seq_num: u64,
    pub(crate) batch: S2AppendAck,
    pub(crate) count: u64,
}

completion!(
    CountedAck,
    CountedAckFn,
    RecordsAcked,
    |function, user_data, result| {
        match result {
            // SAFETY: as above.
            Ok(acked) => unsafe {
                function(user_data, acked.seq_num, acked.count, std::ptr::null_mut())
            },
            // SAFETY: as above; the error is handed over.
            Err(error) => unsafe { function(user_data, 0, 1, Box::into_raw(error)) },
        }
    }
);

/// A producer record's acknowledgement callback: one call per record, or one per run of
/// records acknowledged together (the counted form).
pub(crate) enum ProducerAck {
    Record(RecordAck),
    Counted(CountedAck),
}

impl ProducerAck {
    /// The per-record form; `None` for a NULL function.
    pub(crate) fn record(
        function: S2RecordAckCallback,
        user_data: *mut c_void,
    ) -> Option<Once<ProducerAck>> {
        RecordAck::new(function, user_data).map(|ack| ack.map(ProducerAck::Record))
    }

    /// The counted form; `None` for a NULL function.
    pub(crate) fn counted(
        function: S2CountedAckCallback,
        user_data: *mut c_void,
    ) -> Option<Once<ProducerAck>> {
        CountedAck::new(function, user_data).map(|ack| ack.map(ProducerAck::Counted))
    }
}

impl Callback for ProducerAck {
    type Value = RecordsAcked;
    type Error = S2Error;

    fn invoke(&self, result: Result<RecordsAcked, Box<S2Error>>) {
        match self {
            ProducerAck::Record(ack) => {
                ack.invoke(result.map(|acked| (acked.seq_num, acked.batch)))
            }
            ProducerAck::Counted(ack) => ack.invoke(result),
        }
    }
}

impl Coalesce for ProducerAck {
    fn join(
        &self,
        run: &mut RecordsAcked,
        next: &Self,
        acked: RecordsAcked,
    ) -> Result<(), RecordsAcked> {
        match (self, next) {
            (ProducerAck::Counted(first), ProducerAck::Counted(next))
                if std::ptr::fn_addr_eq(first.function, next.function)
                    && first.user_data.0 == next.user_data.0
                    && run.seq_num.checked_add(run.count) == Some(acked.seq_num) =>
            {
                run.count += acked.count;
                Ok(())
            }
            _ => Err(acked),
        }
    }
}

impl Coalesce for Append {}

completion!(
    Batch,
    BatchFn,
    Option<Box<S2ReadBatch>>,
    |function, user_data, result| {
        match result {
            Ok(batch) => {
                let batch = batch.map_or(std::ptr::null_mut(), Box::into_raw);
                // SAFETY: as above; the batch is handed over.
                unsafe { function(user_data, batch, std::ptr::null_mut()) }
            }
            // SAFETY: as above; the error is handed over.
            Err(error) => unsafe {
                function(user_data, std::ptr::null_mut(), Box::into_raw(error))
            },
        }
    }
);

completion!(
    ReadSessionOpened,
    ReadSessionFn,
    Box<S2ReadSession>,
    |function, user_data, result| {
        match result {
            // SAFETY: as above; the session is handed over.
            Ok(session) => unsafe {
                function(user_data, Box::into_raw(session), std::ptr::null_mut())
            },
            // SAFETY: as above; the error is handed over.
            Err(error) => unsafe {
                function(user_data, std::ptr::null_mut(), Box::into_raw(error))
            },
        }
    }
);

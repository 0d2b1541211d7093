//! The machinery every entry point shares: the panic boundary, the checked
//! pointer access, the failure type, and the one allocate/free pair for
//! strings and byte buffers handed to C.

use crate::types::qjob_result;
use qjob_core::ErrorClass;
use std::ffi::{CString, c_char};

/// The panic boundary: runs `$body` (an expression, typically a block) and
/// evaluates to its value, or to `$on_panic` if it panicked. Every
/// `extern "C"` function of the crate runs its work inside this macro (most
/// through [`crate::manager::with_manager`]), so no panic unwinds into C.
#[macro_export]
#[doc(hidden)]
macro_rules! ffi_boundary {
    ($on_panic:expr, $body:expr) => {
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
            Ok(value) => value,
            Err(_) => $on_panic,
        }
    };
}

/// Why a call failed: the code returned to C and the text kept as the
/// manager's last error. Boxed, so that the results of the hot paths stay
/// two words wide (returned in registers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fail(Box<FailInfo>);

/// The content of a [`Fail`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailInfo {
    /// The code returned.
    pub code: qjob_result,
    /// The QMP error class, for errors the core reported.
    pub class: Option<ErrorClass>,
    /// Human-readable description.
    pub desc: String,
}

impl std::ops::Deref for Fail {
    type Target = FailInfo;
    fn deref(&self) -> &FailInfo {
        &self.0
    }
}

impl Fail {
    /// A failure found by the binding itself (a NULL, bad UTF-8, a bad enum value…).
    #[cold]
    pub fn new(code: qjob_result, desc: impl Into<String>) -> Fail {
        Fail(Box::new(FailInfo {
            code,
            class: None,
            desc: desc.into(),
        }))
    }

    /// `QJOB_INVALID_ARGUMENT` with a description.
    #[cold]
    pub fn invalid(desc: impl Into<String>) -> Fail {
        Fail::new(qjob_result::QJOB_INVALID_ARGUMENT, desc)
    }
}

impl From<qjob_core::Error> for Fail {
    /// A refusal by the core: `QJOB_QMP_ERROR`, with QEMU's class and text.
    #[cold]
    fn from(e: qjob_core::Error) -> Fail {
        Fail(Box::new(FailInfo {
            code: qjob_result::QJOB_QMP_ERROR,
            class: Some(e.class),
            desc: e.desc,
        }))
    }
}

/// The result of the work inside an entry point: a code that is not an error
/// (`QJOB_OK`, `QJOB_EMPTY`) or a failure.
pub type FfiResult = Result<qjob_result, Fail>;

/// The checked pointer access for `const` arguments: NULL becomes
/// `QJOB_NULL_ARGUMENT` (naming the argument), anything else a reference.
///
/// # Safety
/// `p` must be NULL or point to a valid, initialised `T` that nothing mutates
/// while the returned reference lives (the caller picks `'a` no longer than
/// the call).
#[inline]
pub unsafe fn checked<'a, T>(p: *const T, name: &str) -> Result<&'a T, Fail> {
    // SAFETY: the caller guarantees `p` is NULL or valid for reads as a `T`;
    // `as_ref` maps NULL to None.
    unsafe { p.as_ref() }
        .ok_or_else(|| Fail::new(qjob_result::QJOB_NULL_ARGUMENT, format!("'{name}' is NULL")))
}

/// The checked pointer access for mutable and output arguments: NULL becomes
/// `QJOB_NULL_ARGUMENT`, anything else a mutable reference.
///
/// # Safety
/// `p` must be NULL or point to a valid `T` (initialised, for a type with
/// invariants) that nothing else accesses while the reference lives.
#[inline]
pub unsafe fn checked_mut<'a, T>(p: *mut T, name: &str) -> Result<&'a mut T, Fail> {
    // SAFETY: the caller guarantees `p` is NULL or valid and unaliased;
    // `as_mut` maps NULL to None.
    unsafe { p.as_mut() }
        .ok_or_else(|| Fail::new(qjob_result::QJOB_NULL_ARGUMENT, format!("'{name}' is NULL")))
}

/// Refuses a NULL required argument before anything happens (an output
/// pointer is checked before a value is popped, so that nothing is lost).
#[inline]
pub fn require<T>(p: *const T, name: &str) -> Result<(), Fail> {
    if p.is_null() {
        return Err(Fail::new(
            qjob_result::QJOB_NULL_ARGUMENT,
            format!("'{name}' is NULL"),
        ));
    }
    Ok(())
}

/// Writes `value` through an output pointer that may be NULL (an optional
/// output); does nothing for NULL.
///
/// # Safety
/// `p` must be NULL or valid for a write of a `T`.
#[inline]
pub unsafe fn write_opt<T>(p: *mut T, value: T) {
    if !p.is_null() {
        // SAFETY: non-NULL and, by the caller's contract, valid for writes;
        // `write` does not read (or drop) the old, maybe uninitialised, value.
        unsafe { p.write(value) }
    }
}

/// Writes `value` through a required output pointer.
///
/// # Safety
/// `p` must be NULL or valid for a write of a `T` (it may be uninitialised).
#[inline]
pub unsafe fn write_out<T>(p: *mut T, name: &str, value: T) -> Result<(), Fail> {
    if p.is_null() {
        return Err(Fail::new(
            qjob_result::QJOB_NULL_ARGUMENT,
            format!("'{name}' is NULL"),
        ));
    }
    // SAFETY: non-NULL and, by the caller's contract, valid for writes.
    unsafe { p.write(value) };
    Ok(())
}

/// A NUL-terminated UTF-8 argument as `&str`.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string that stays unchanged
/// for `'a`.
#[inline]
pub unsafe fn c_str<'a>(p: *const c_char, name: &str) -> Result<&'a str, Fail> {
    // SAFETY: a `c_char` pointer is checked like any other; the byte it points
    // to is the first of the string.
    unsafe { checked(p, name) }?;
    // IDs and node names are short ASCII: find the NUL and check for ASCII in
    // one pass (cheaper than strlen + UTF-8 validation for the common case).
    let start = p.cast::<u8>();
    let mut len = 0usize;
    let mut ascii = true;
    loop {
        // SAFETY: the caller guarantees a NUL-terminated string, and the loop
        // stops at its NUL, so every byte read is inside it.
        let b = unsafe { *start.add(len) };
        if b == 0 {
            break;
        }
        ascii &= b < 0x80;
        len += 1;
    }
    // SAFETY: the `len` bytes before the NUL, just read, stay unchanged for
    // 'a by the caller's contract.
    let bytes = unsafe { std::slice::from_raw_parts(start, len) };
    if ascii {
        // SAFETY: all bytes are ASCII, which is valid UTF-8.
        return Ok(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    std::str::from_utf8(bytes).map_err(|_| {
        Fail::new(
            qjob_result::QJOB_INVALID_UTF8,
            format!("'{name}' is not valid UTF-8"),
        )
    })
}

/// Like [`c_str`] for an argument that may be NULL (`None`).
///
/// # Safety
/// As for [`c_str`].
pub unsafe fn opt_c_str<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>, Fail> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL; the caller's contract is c_str's.
    unsafe { c_str(p, name) }.map(Some)
}

/// `len` bytes at `p`, which must be UTF-8 (no NUL terminator needed).
///
/// # Safety
/// `p` must be NULL or valid for reads of `len` bytes that stay unchanged for
/// `'a`.
pub unsafe fn byte_str<'a>(p: *const c_char, len: usize, name: &str) -> Result<&'a str, Fail> {
    // SAFETY: the caller's contract is `bytes`'s.
    let b = unsafe { bytes(p.cast(), len, name) }?;
    std::str::from_utf8(b).map_err(|_| {
        Fail::new(
            qjob_result::QJOB_INVALID_UTF8,
            format!("'{name}' is not valid UTF-8"),
        )
    })
}

/// `len` bytes at `p` (any bytes). NULL is refused even when `len` is 0.
///
/// # Safety
/// `p` must be NULL or valid for reads of `len` bytes that stay unchanged for
/// `'a`.
pub unsafe fn bytes<'a>(p: *const u8, len: usize, name: &str) -> Result<&'a [u8], Fail> {
    if p.is_null() {
        return Err(Fail::new(
            qjob_result::QJOB_NULL_ARGUMENT,
            format!("'{name}' is NULL"),
        ));
    }
    if len > isize::MAX as usize {
        return Err(Fail::invalid(format!("'{name}' is longer than isize::MAX")));
    }
    // SAFETY: non-NULL, length within isize::MAX, and the caller guarantees
    // `p` is valid for `len` bytes.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// Hands a string to C (owned by C; freed with [`qjob_string_free`]). An
/// interior NUL (the core never produces one in JSON) would end the C string
/// early, so it is written as the JSON escape `\u0000`.
pub fn owned_string(s: String) -> *mut c_char {
    let c = CString::new(s).unwrap_or_else(|e| {
        let s = String::from_utf8_lossy(&e.into_vec()).replace('\0', "\\u0000");
        CString::new(s).unwrap_or_default()
    });
    c.into_raw()
}

/// Copies `s` into `buf` with a NUL terminator (reusing `buf`'s allocation)
/// and returns a pointer to it, valid while `buf` is untouched. Stops at an
/// interior NUL.
#[inline]
pub fn lend_str(buf: &mut Vec<u8>, s: &str) -> *const c_char {
    // A byte loop: lent strings are short job IDs, for which this beats
    // a NUL search plus a memcpy call.
    buf.clear();
    buf.reserve(s.len() + 1);
    for &b in s.as_bytes() {
        if b == 0 {
            break;
        }
        buf.push(b);
    }
    buf.push(0);
    buf.as_ptr().cast()
}

/// A `CString` for a string lent to C, stopping at an interior NUL.
pub fn c_string(s: &str) -> CString {
    let end = s.bytes().position(|c| c == 0).unwrap_or(s.len());
    CString::new(&s[..end]).unwrap_or_default()
}

/// Frees a string the library returned as owned (`char *` out-parameters
/// such as the reply of `qjob_execute`). NULL is ignored.
///
/// # Safety
/// `s` must be NULL or a pointer returned by this library as an owned string
/// and not yet freed. After the call it is dangling.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_string_free(s: *mut c_char) {
    ffi_boundary!((), {
        if !s.is_null() {
            // SAFETY: the caller guarantees `s` came from `CString::into_raw`
            // in `owned_string` and is freed once.
            drop(unsafe { CString::from_raw(s) });
        }
    })
}

/// Hands a byte buffer to C (owned by C; freed with [`qjob_bytes_free`] and
/// the same length).
pub fn owned_bytes(v: Vec<u8>) -> (*mut u8, usize) {
    let b = v.into_boxed_slice();
    let len = b.len();
    (Box::into_raw(b).cast::<u8>(), len)
}

/// Frees a byte buffer the library returned as owned (from
/// `qjob_snapshot`), given the length returned with it. NULL is ignored.
///
/// # Safety
/// `bytes` must be NULL or a buffer returned by this library, not yet freed,
/// and `len` the length returned with it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_bytes_free(bytes: *mut u8, len: usize) {
    ffi_boundary!((), {
        if !bytes.is_null() {
            let slice = std::ptr::slice_from_raw_parts_mut(bytes, len);
            // SAFETY: the caller guarantees the pointer and length are those
            // `owned_bytes` produced from a boxed slice, freed once.
            drop(unsafe { Box::from_raw(slice) });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn panic_boundary_catches() {
        let r: qjob_result = ffi_boundary!(qjob_result::QJOB_PANIC, {
            if std::hint::black_box(true) {
                panic!("boom");
            }
            qjob_result::QJOB_OK
        });
        assert_eq!(r, qjob_result::QJOB_PANIC);
        let r: u32 = ffi_boundary!(0, 7);
        assert_eq!(r, 7);
    }

    #[test]
    fn strings_round_trip() {
        let p = owned_string("a\0b".into());
        // SAFETY: p is a fresh owned string.
        let s = unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned();
        assert_eq!(s, "a\\u0000b");
        // SAFETY: freed once.
        unsafe { qjob_string_free(p) };
        let mut buf = Vec::new();
        let p = lend_str(&mut buf, "xy\0z");
        // SAFETY: p points into buf.
        assert_eq!(unsafe { CStr::from_ptr(p) }.to_bytes(), b"xy");
        let (p, n) = owned_bytes(vec![1, 2, 3]);
        assert_eq!(n, 3);
        // SAFETY: freed once with its length.
        unsafe { qjob_bytes_free(p, n) };
    }
}

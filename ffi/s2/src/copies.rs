//! Record bodies copied from C callers, packed into shared blocks: one allocation serves many
//! small records (the producer copies every record on its hot path), and a copy's clone inside
//! the SDK is a reference count, not another allocation.

use bytes::{Bytes, BytesMut};

/// The producer's block size: a few hundred 100 B records per allocation, and little memory held
/// by a block that only its last records keep alive.
pub(crate) const PRODUCER_BLOCK: usize = 64 * 1024;

/// A block that copies are carved from. Each copy is a [`Bytes`] sharing the block; the block's
/// memory is freed once every copy carved from it is dropped.
pub(crate) struct CopyBlock {
    block: BytesMut,
    block_size: usize,
}

impl CopyBlock {
    /// Blocks of `block_size` bytes, allocated when a copy needs one. A copy larger than a
    /// quarter of a block gets an allocation of its own, so that a block never ends with much
    /// of it unused.
    pub(crate) fn new(block_size: usize) -> CopyBlock {
        CopyBlock {
            block: BytesMut::new(),
            block_size,
        }
    }

    /// One block of exactly `capacity` bytes, allocated now (the copies of a batch whose total
    /// size is known). Copies beyond it are made as [`CopyBlock::new`] makes them.
    pub(crate) fn sized(capacity: usize) -> CopyBlock {
        CopyBlock {
            block: BytesMut::with_capacity(capacity),
            block_size: capacity,
        }
    }

    /// Copies `bytes`.
    pub(crate) fn copy(&mut self, bytes: &[u8]) -> Bytes {
        if bytes.is_empty() {
            return Bytes::new();
        }
        // After a split the block's capacity is what is left of it.
        if self.block.capacity() < bytes.len() {
            if bytes.len() > self.block_size / 4 {
                return Bytes::copy_from_slice(bytes);
            }
            self.block = BytesMut::with_capacity(self.block_size);
        }
        self.block.extend_from_slice(bytes);
        self.block.split().freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_are_exact_and_independent_of_the_source() {
        let mut block = CopyBlock::new(64);
        let mut source = *b"abcdefgh";
        let first = block.copy(&source[..3]);
        source[0] = b'z';
        let second = block.copy(&source[3..]);
        assert_eq!(&first[..], b"abc");
        assert_eq!(&second[..], b"defgh");
        assert!(block.copy(&[]).is_empty());
    }

    #[test]
    fn small_copies_share_a_block_until_it_is_full() {
        let mut block = CopyBlock::new(16);
        let a = block.copy(b"0123");
        let b = block.copy(b"4567");
        // Carved one after the other from the same allocation.
        assert_eq!(a.as_ptr().wrapping_add(4), b.as_ptr());
        let c = block.copy(b"89ab");
        let d = block.copy(b"cdef");
        let e = block.copy(b"ghij");
        assert_eq!(c.as_ptr().wrapping_add(4), d.as_ptr());
        // The block was full: a new one.
        assert_ne!(d.as_ptr().wrapping_add(4), e.as_ptr());
        assert_eq!(
            [&a[..], &b[..], &c[..], &d[..], &e[..]].concat(),
            b"0123456789abcdefghij"
        );
    }

    #[test]
    fn a_large_copy_is_allocated_alone_and_keeps_the_block() {
        let mut block = CopyBlock::new(16);
        let small = block.copy(b"01");
        let large = block.copy(b"this is larger than a quarter");
        let next = block.copy(b"23");
        assert_eq!(&large[..], b"this is larger than a quarter");
        assert_eq!(small.as_ptr().wrapping_add(2), next.as_ptr());
    }

    #[test]
    fn a_sized_block_holds_a_whole_batch_in_one_allocation() {
        let bodies: [&[u8]; 3] = [b"one", b"two", b"three"];
        let mut block = CopyBlock::sized(bodies.iter().map(|b| b.len()).sum());
        let copies: Vec<Bytes> = bodies.iter().map(|b| block.copy(b)).collect();
        assert_eq!(copies[0].as_ptr().wrapping_add(3), copies[1].as_ptr());
        assert_eq!(copies[1].as_ptr().wrapping_add(3), copies[2].as_ptr());
        assert_eq!(&copies[2][..], b"three");
    }
}

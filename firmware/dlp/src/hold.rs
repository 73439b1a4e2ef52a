//! Where the content walk keeps a large decoded part instead of memory.
//!
//! A 20 MB mail's base64 attachment decodes to 15 MB, and the walk reads that attachment
//! (a ZIP, a PDF) with random access. Holding it in memory on a 1 GiB board, for every
//! session at once, is what the relay's memory budget cannot afford; so the walk, which
//! does no I/O itself, writes a decoded part whose encoded form is long to a [`PartStore`]
//! a piece at a time and reads it back as one slice. The relay's store keeps parts in
//! files beside its spool, mapped back read-only: the page cache holds them, not the heap.
//! [`MemoryStore`] keeps them in memory: the reference the file store is tested against.

/// Decoded bytes kept by a [`PartStore`], readable as one slice.
pub type HeldBytes = Box<dyn std::ops::Deref<Target = [u8]>>;

/// A place for decoded parts too large to hold in memory.
pub trait PartStore {
    /// Parts whose encoded form is at least this many octets long go to the store.
    fn threshold(&self) -> usize;

    /// Starts keeping one part; `None` if the store cannot take one now (the walk then
    /// decodes into memory, as it does without a store).
    fn begin(&mut self) -> Option<Box<dyn HeldPart>>;
}

/// One part being written to a [`PartStore`].
pub trait HeldPart {
    /// Appends decoded bytes; false if the store failed (the walk then decodes into
    /// memory).
    fn write(&mut self, bytes: &[u8]) -> bool;

    /// The part as written, readable; `None` if it cannot be read back.
    fn finish(self: Box<Self>) -> Option<HeldBytes>;
}

/// A [`PartStore`] in memory: what the walk does without a store, through the store's
/// path (for tests, and for callers with no better place).
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    /// [`PartStore::threshold`].
    pub threshold: usize,
    /// How many parts were kept.
    pub parts: usize,
}

impl PartStore for MemoryStore {
    fn threshold(&self) -> usize {
        self.threshold
    }

    fn begin(&mut self) -> Option<Box<dyn HeldPart>> {
        self.parts += 1;
        Some(Box::new(MemoryPart(Vec::new())))
    }
}

/// A part of a [`MemoryStore`].
struct MemoryPart(Vec<u8>);

impl HeldPart for MemoryPart {
    fn write(&mut self, bytes: &[u8]) -> bool {
        self.0.extend_from_slice(bytes);
        true
    }

    fn finish(self: Box<Self>) -> Option<HeldBytes> {
        Some(Box::new(self.0))
    }
}

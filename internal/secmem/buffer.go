package secmem

// Buffer is a fixed-size piece of an Arena. Its bytes never live on the Go
// heap. A Buffer is not safe for concurrent Free and use: its owner
// serialises them.
type Buffer struct {
	arena  *Arena
	first  int // first chunk
	chunks int
	b      []byte
}

// Bytes returns the buffer's memory (nil after Free or the arena's Close).
// Writing to it writes the secret in place; never append to it.
func (b *Buffer) Bytes() []byte { return b.b }

// Len returns the buffer's size in bytes (0 after Free).
func (b *Buffer) Len() int { return len(b.b) }

// Wipe zeroes the buffer without releasing it.
func (b *Buffer) Wipe() { clear(b.b) }

// Free wipes the buffer and returns its memory to the arena. Free is
// idempotent and safe on a nil Buffer.
func (b *Buffer) Free() {
	if b == nil || b.arena == nil {
		return
	}
	b.arena.free(b)
}

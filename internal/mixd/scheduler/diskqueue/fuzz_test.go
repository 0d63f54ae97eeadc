package diskqueue

import (
	"bytes"
	"testing"

	"github.com/splitmix/splitmix/internal/mixd/scheduler/internal/minheap"
)

// FuzzDecodeEntry feeds arbitrary keys and values, as a damaged file would
// hold, to the decoders: they must return an error or a result that
// re-encodes to the same bytes, never panic.
func FuzzDecodeEntry(f *testing.F) {
	var kb [keyLen]byte
	encodeKey(&kb, minheap.Key{At: 1_780_000_000_000_000_000, Seq: 3})
	f.Add(kb[:], encodeValue(nil, 42, []byte("packet")))
	f.Add(kb[:], encodeValue(nil, 0, nil))
	f.Add([]byte{}, []byte{})
	f.Add([]byte("short"), []byte{valueVersion})
	f.Add(bytes.Repeat([]byte{0xff}, keyLen), []byte{2, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(bytes.Repeat([]byte{0}, keyLen+1), encodeValue(nil, 1, make([]byte, 65)))
	f.Fuzz(func(t *testing.T, key, value []byte) {
		if k, err := decodeKey(key); err == nil {
			var again [keyLen]byte
			encodeKey(&again, k)
			if !bytes.Equal(again[:], key) {
				t.Fatalf("key %x decodes to %+v, which encodes to %x", key, k, again)
			}
		}
		const maxPayload = 64
		meta, payload, err := decodeValue(value, maxPayload)
		if err != nil {
			return
		}
		if len(payload) > maxPayload {
			t.Fatalf("decoded a %d-byte packet past the %d-byte limit", len(payload), maxPayload)
		}
		if again := encodeValue(nil, meta, payload); !bytes.Equal(again, value) {
			t.Fatalf("value %x decodes to (%d, %x), which encodes to %x", value, meta, payload, again)
		}
	})
}

package ipc

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	for _, p := range [][]byte{{0x01}, bytes.Repeat([]byte{0xab}, 300), bytes.Repeat([]byte{7}, 1024)} {
		if err := WriteFrame(&buf, p, 1024); err != nil {
			t.Fatalf("WriteFrame(%d bytes): %v", len(p), err)
		}
	}
	for _, want := range []int{1, 300, 1024} {
		got, err := ReadFrame(&buf, 1024)
		if err != nil {
			t.Fatalf("ReadFrame: %v", err)
		}
		if len(got) != want {
			t.Fatalf("ReadFrame: %d bytes, want %d", len(got), want)
		}
	}
	if _, err := ReadFrame(&buf, 1024); err != io.EOF {
		t.Fatalf("ReadFrame at clean end: %v, want io.EOF", err)
	}
}

func TestFrameHeaderIsBigEndianLength(t *testing.T) {
	got, err := AppendFrame(nil, []byte("abc"), 16)
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0, 0, 0, 3, 'a', 'b', 'c'}; !bytes.Equal(got, want) {
		t.Fatalf("AppendFrame = %x, want %x", got, want)
	}
}

func TestWriteFrameRefusesEmptyAndOversize(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteFrame(&buf, nil, 16); !errors.Is(err, ErrEmptyFrame) {
		t.Errorf("empty payload: %v, want ErrEmptyFrame", err)
	}
	if err := WriteFrame(&buf, make([]byte, 17), 16); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("17 bytes with limit 16: %v, want ErrFrameTooLarge", err)
	}
	if buf.Len() != 0 {
		t.Errorf("refused frames wrote %d bytes", buf.Len())
	}
}

func TestReadFrameRejects(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty frame", []byte{0, 0, 0, 0}, ErrEmptyFrame},
		{"one over the limit", []byte{0, 0, 0, 17}, ErrFrameTooLarge},
		{"4 GiB", []byte{0xff, 0xff, 0xff, 0xff}, ErrFrameTooLarge},
		{"truncated header", []byte{0, 0}, io.ErrUnexpectedEOF},
		{"truncated payload", []byte{0, 0, 0, 10, 1, 2, 3}, io.ErrUnexpectedEOF},
		{"header only", []byte{0, 0, 0, 1}, io.ErrUnexpectedEOF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadFrame(bytes.NewReader(c.in), 16)
			if !errors.Is(err, c.want) {
				t.Fatalf("ReadFrame(%x) = %v, want %v", c.in, err, c.want)
			}
		})
	}
}

// TestReadFrameOversizeAllocatesNothing checks that a 4 GiB length prefix
// is refused from the header alone: no payload buffer, no read past it.
func TestReadFrameOversizeAllocatesNothing(t *testing.T) {
	hdr := []byte{0xff, 0xff, 0xff, 0xff}
	r := &countingReader{data: hdr}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := ReadFrame(r, MaxMaxFrame)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("ReadFrame(4 GiB) = %v, want ErrFrameTooLarge", err)
	}
	if r.asked > len(hdr) {
		t.Errorf("ReadFrame asked for %d bytes, want only the %d-byte header", r.asked, len(hdr))
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<10 {
		t.Errorf("ReadFrame allocated %d bytes refusing a 4 GiB frame", grew)
	}
	// And repeatedly: a few small objects (the error) per refusal at most.
	runtime.ReadMemStats(&before)
	for i := 0; i < 1000; i++ {
		r.reset()
		_, _ = ReadFrame(r, MaxMaxFrame)
	}
	runtime.ReadMemStats(&after)
	if perCall := (after.TotalAlloc - before.TotalAlloc) / 1000; perCall > 512 {
		t.Errorf("ReadFrame allocated %d bytes per refused frame", perCall)
	}
}

// countingReader serves data and records how many bytes were asked for.
type countingReader struct {
	data  []byte
	off   int
	asked int
}

func (r *countingReader) reset() { r.off, r.asked = 0, 0 }

func (r *countingReader) Read(p []byte) (int, error) {
	r.asked += len(p)
	if r.off >= len(r.data) {
		return 0, io.EOF
	}
	n := copy(p, r.data[r.off:])
	r.off += n
	return n, nil
}

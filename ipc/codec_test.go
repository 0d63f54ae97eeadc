package ipc

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

type sample struct {
	A int    `cbor:"a"`
	B string `cbor:"b,omitempty"`
}

func TestModesBuild(t *testing.T) {
	if modeErr != nil {
		t.Fatalf("CBOR modes: %v", modeErr)
	}
}

func TestMarshalIsDeterministic(t *testing.T) {
	// Keys sorted bytewise, shortest integers: {"a": 1, "b": "x"}.
	got, err := Marshal(&sample{A: 1, B: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "a2616101616261 78"; hex.EncodeToString(got) != strings.ReplaceAll(want, " ", "") {
		t.Fatalf("Marshal = %x, want %s", got, want)
	}
	m := map[string]int{"zz": 1, "b": 2, "a": 3}
	first, _ := Marshal(m)
	for i := 0; i < 20; i++ {
		again, _ := Marshal(m)
		if !bytes.Equal(first, again) {
			t.Fatalf("map encoding differs between runs: %x vs %x", first, again)
		}
	}
}

func nested(depth int) []byte {
	b := bytes.Repeat([]byte{0x81}, depth) // array of one element, depth times
	return append(b, 0x01)
}

func TestUnmarshalStrict(t *testing.T) {
	cases := []struct {
		name, hex string
		raw       []byte
		reason    string
	}{
		{name: "unknown field", hex: "a2616101617a02", reason: "unknown field"},
		{name: "duplicate key", hex: "a2616101616102", reason: "duplicate"},
		{name: "case-insensitive field name", hex: "a1614101", reason: "unknown field"},
		{name: "indefinite-length map", hex: "bf616101ff", reason: "indefinite"},
		{name: "tag", hex: "a16161c101", reason: "tag"},
		{name: "trailing bytes", hex: "a161610100", reason: "extraneous"},
		{name: "not a map", hex: "01", reason: "cannot unmarshal"},
		{name: "invalid UTF-8 in text", hex: "a2616101616261ff", reason: "UTF-8"},
		{name: "truncated", hex: "a26161", reason: "EOF"},
		{name: "empty", hex: "", reason: "EOF"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := hex.DecodeString(c.hex)
			if err != nil {
				t.Fatal(err)
			}
			var s sample
			err = Unmarshal(b, &s)
			if err == nil {
				t.Fatalf("Unmarshal(%s) accepted: %+v", c.hex, s)
			}
			if !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("Unmarshal(%s) = %v, want an error about %q", c.hex, err, c.reason)
			}
		})
	}
}

func TestUnmarshalLimits(t *testing.T) {
	var v any
	if err := Unmarshal(nested(maxNestedLevels-1), &v); err != nil {
		t.Fatalf("nesting within the limit: %v", err)
	}
	if err := Unmarshal(nested(maxNestedLevels+1), &v); err == nil || !strings.Contains(err.Error(), "nested") {
		t.Fatalf("nesting %d deep: %v, want a nesting error", maxNestedLevels+1, err)
	}
	// An array announcing more elements than allowed, in a buffer that has them.
	big := append([]byte{0x9a, 0, 0x01, 0, 0x01}, bytes.Repeat([]byte{0}, maxArrayElements+1)...)
	if err := Unmarshal(big, &v); err == nil || !strings.Contains(err.Error(), "exceeded max number of elements") {
		t.Fatalf("array of %d: %v, want a size error", maxArrayElements+1, err)
	}
	for _, h := range []string{"f7", "f97e00", "f97c00"} { // undefined, NaN, +Inf
		b, _ := hex.DecodeString(h)
		if err := Unmarshal(b, &v); err == nil {
			t.Errorf("Unmarshal(%s) accepted %v", h, v)
		}
	}
}

package ipc

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestErrorfWrapsLocally(t *testing.T) {
	err := Errorf(CodeNotFound, "user %q: %w", "alice", fs.ErrNotExist)
	if err.Code != CodeNotFound || err.Msg != `user "alice": file does not exist` {
		t.Fatalf("Errorf = %+v", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Error("Errorf lost its %w cause")
	}
	if got := err.Error(); got != `ipc: not_found: user "alice": file does not exist` {
		t.Errorf("Error() = %q", got)
	}
	// The cause does not cross the wire.
	b, err2 := Marshal(err)
	if err2 != nil {
		t.Fatal(err2)
	}
	var back Error
	if err := Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Unwrap() != nil || back.Code != CodeNotFound || back.Msg != err.Msg {
		t.Errorf("decoded error = %+v", back)
	}
}

func TestErrorIsAndCodeOf(t *testing.T) {
	err := error(Errorf(CodeDenied, "no"))
	wrapped := errors.Join(errors.New("context"), err)
	if !errors.Is(wrapped, &Error{Code: CodeDenied}) {
		t.Error("errors.Is by code failed")
	}
	if errors.Is(wrapped, &Error{Code: CodeInternal}) {
		t.Error("errors.Is matched another code")
	}
	if CodeOf(wrapped) != CodeDenied || CodeOf(errors.New("plain")) != 0 {
		t.Error("CodeOf wrong")
	}
	if Code(99).String() != "code(99)" {
		t.Errorf("unknown code renders %q", Code(99).String())
	}
}

func TestWireTruncatesToValidUTF8(t *testing.T) {
	long := strings.Repeat("é", maxErrorMsg) // 2 bytes each
	w := (&Error{Code: CodeInvalid, Msg: long + "x"}).wire(maxErrorMsg - 1)
	if len(w.Msg) > maxErrorMsg-1 || !utf8.ValidString(w.Msg) {
		t.Fatalf("wire message: %d bytes, valid UTF-8 %v", len(w.Msg), utf8.ValidString(w.Msg))
	}
	if (&Error{Msg: "x"}).wire(10).Code != CodeInternal {
		t.Error("code 0 was not turned into internal")
	}
}

package management

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseCommandLine: the parser never panics, and what it accepts is
// well formed: an upper-case name and arguments free of separators and
// control characters.
func FuzzParseCommandLine(f *testing.F) {
	for _, s := range []string{
		"", "\n", "\r\n", "QUIT\n", "add_user alice 00ff\r\n", "  SEND_RATE \t 30  ",
		"STATS\x00", "\xff\xfe", "HELP\rQUIT\n", "ä_user bob", strings.Repeat("A", MaxLineSize+1),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		cmd, err := ParseCommandLine(line)
		if err != nil {
			if cmd.Name != "" || cmd.Args != nil {
				t.Fatalf("error %v with a command %+v", err, cmd)
			}
			return
		}
		if cmd.Name == "" || cmd.Name != strings.ToUpper(cmd.Name) {
			t.Fatalf("name %q", cmd.Name)
		}
		for _, w := range append([]string{cmd.Name}, cmd.Args...) {
			if w == "" || strings.ContainsAny(w, " \t\r\n\x00") || !utf8.ValidString(w) {
				t.Fatalf("word %q", w)
			}
		}
	})
}

// FuzzReadReply: the client's reply reader never panics on what a server
// (or anything at the socket's path) sends, and a reply it accepts
// renders back to lines it accepts again.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{
		"250 ok\n", "250-a\n250 b\n", "220 x splitmix management ready\r\n", "250\n",
		"250-a\n251 b\n", "25\n", "abc def\n", "250-a", "", "999-\n999 \n", "099 x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReplyReader(bytes.NewReader(data))
		rep, err := ReadReply(r)
		if err != nil {
			if !errors.Is(err, ErrBadReply) && !errors.Is(err, io.EOF) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if rep.Code < 100 || rep.Code > 999 || len(rep.Lines) == 0 || len(rep.Lines) > MaxReplyLines {
			t.Fatalf("reply %+v", rep)
		}
		again, err := ReadReply(bufio.NewReader(strings.NewReader(rep.String() + "\n")))
		if err != nil || again.Code != rep.Code || len(again.Lines) != len(rep.Lines) {
			t.Fatalf("round trip of %q: %+v, %v", rep.String(), again, err)
		}
	})
}

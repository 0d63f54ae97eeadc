package management

import (
	"bufio"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseCommandLine(t *testing.T) {
	tests := []struct {
		line string
		want Command
		err  error
	}{
		{"QUIT\n", Command{Name: "QUIT", Args: []string{}}, nil},
		{"quit", Command{Name: "QUIT", Args: []string{}}, nil},
		{"add_user  alice\tKEY \r\n", Command{Name: "ADD_USER", Args: []string{"alice", "KEY"}}, nil},
		{"\n", Command{}, ErrEmptyLine},
		{" \t \r\n", Command{}, ErrEmptyLine},
		{"STATS\rQUIT\n", Command{}, ErrMalformedLine},
		{"STATS\x7f", Command{}, ErrMalformedLine},
		{"\xffSTATS", Command{}, ErrMalformedLine},
		{strings.Repeat("a", MaxLineSize) + "\r\n", Command{Name: strings.Repeat("A", MaxLineSize), Args: []string{}}, nil},
		{strings.Repeat("a", MaxLineSize+1), Command{}, ErrLineTooLong},
	}
	for _, tc := range tests {
		got, err := ParseCommandLine([]byte(tc.line))
		if !errors.Is(err, tc.err) || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%.40q: got %+v, %v; want %+v, %v", tc.line, got, err, tc.want, tc.err)
		}
	}
}

func TestArgumentParsers(t *testing.T) {
	for _, ok := range []string{"alice", "a", strings.Repeat("b", MaxUserNameSize), "älice", "bob@example.org"} {
		if _, err := parseUserName(ok); err != nil {
			t.Errorf("user %q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", strings.Repeat("b", MaxUserNameSize+1), "a\u200bb", "a\u00a0b"} {
		if _, err := parseUserName(bad); err == nil {
			t.Errorf("user %q accepted", bad)
		}
	}
	for _, ok := range []string{"echo", "keyserver.v2", "a-b_c"} {
		if _, err := parseCapability(ok); err != nil {
			t.Errorf("capability %q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a/b", "ü", strings.Repeat("c", MaxCapabilitySize+1)} {
		if _, err := parseCapability(bad); err == nil {
			t.Errorf("capability %q accepted", bad)
		}
	}
	for s, want := range map[string]uint64{"0": 0, "30": 30, "18446744073709551615": 1<<64 - 1} {
		if got, err := parseCount("N", s); err != nil || got != want {
			t.Errorf("count %q: %d, %v", s, got, err)
		}
	}
	for _, bad := range []string{"", "+1", "-1", "0x10", "1e3", "18446744073709551616"} {
		if _, err := parseCount("N", bad); err == nil {
			t.Errorf("count %q accepted", bad)
		}
	}
}

func TestReplyWriteFlattensAndBounds(t *testing.T) {
	var b strings.Builder
	w := bufio.NewWriter(&b)
	long := strings.Repeat("é", MaxReplyLineSize)
	r := reply{code: 250, lines: []string{"a\nb", long}}
	if err := r.write(w); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 2 || lines[0] != "250-a b" {
		t.Fatalf("lines %q", lines[:1])
	}
	if n := len(lines[1]) - 4; n > MaxReplyLineSize || !strings.HasSuffix(lines[1], "...") || !strings.HasPrefix(lines[1], "250 é") {
		t.Fatalf("long line: %d bytes", n)
	}

	b.Reset()
	many := make([]string, MaxReplyLines+10)
	if err := (reply{code: 250, lines: many}).write(w); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	rep, err := ReadReply(NewReplyReader(strings.NewReader(b.String())))
	if err != nil || len(rep.Lines) != MaxReplyLines || rep.Lines[len(rep.Lines)-1] != "(reply truncated)" {
		t.Fatalf("truncated reply: %d lines, %v", len(rep.Lines), err)
	}
}

func TestReadReplyRejects(t *testing.T) {
	for _, s := range []string{"", "25\n", "250x\n", "250-a\n251 b\n", "250-a\n", "abc\n", "099 x\n",
		strings.Repeat("250-x\n", MaxReplyLines) + "250 x\n", "250 " + strings.Repeat("x", replyReaderSize) + "\n"} {
		if rep, err := ReadReply(NewReplyReader(strings.NewReader(s))); err == nil {
			t.Errorf("%.30q accepted as %+v", s, rep)
		}
	}
}

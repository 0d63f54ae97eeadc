package management

import (
	"bufio"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Reply codes, after SMTP (RFC 5321 §4.2). See docs/management.md §3.
const (
	CodeHelp         = 214 // HELP listing
	CodeReady        = 220 // banner on connect
	CodeClosing      = 221 // QUIT: goodbye
	CodeOK           = 250 // command done
	CodeUnavailable  = 421 // too many connections, idle timeout, server closing; connection closed
	CodeUnknown      = 500 // unknown command, malformed, empty or over-long line
	CodeBadArguments = 501 // wrong number of arguments or an argument's syntax
	CodeNotAvailable = 502 // command not offered on this node
	CodeDenied       = 530 // caller not allowed; connection closed
	CodeFailed       = 554 // the node could not do it
)

// MaxReplyLines bounds a multi-line reply (STATS, HELP); the server
// truncates, a client refuses a longer one.
const MaxReplyLines = 4096

// MaxReplyLineSize bounds one reply line's text, without code and line
// ending; the server truncates longer text.
const MaxReplyLineSize = MaxLineSize

// reply is one answer: a code and one or more lines of text. Every line
// but the last is sent as "CODE-text", the last as "CODE text".
type reply struct {
	code  int
	lines []string
	// close ends the connection once the reply is written.
	close bool
	// after, if set, runs once the reply has been written (or failed to).
	after func()
}

func newReply(code int, text string) reply { return reply{code: code, lines: []string{text}} }

// write sends the reply; it does not flush.
func (r reply) write(w *bufio.Writer) error {
	lines := r.lines
	if len(lines) == 0 {
		lines = []string{""}
	}
	if len(lines) > MaxReplyLines {
		lines = append(lines[:MaxReplyLines-1:MaxReplyLines-1], "(reply truncated)")
	}
	code := strconv.Itoa(r.code)
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		w.WriteString(code)
		w.WriteString(sep)
		w.WriteString(flatten(l))
		if err := w.WriteByte('\n'); err != nil {
			return err
		}
	}
	return nil
}

// flatten makes text safe for one reply line: control characters (a
// newline in an error message could forge a reply) become spaces, invalid
// UTF-8 is replaced, and the text is cut at MaxReplyLineSize bytes.
func flatten(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if len(s) > MaxReplyLineSize {
		cut := MaxReplyLineSize - len("...")
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

// word makes a stats name or key one word: whitespace becomes '_'.
func word(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return '_'
		}
		return r
	}, s)
	if s == "" {
		return "_"
	}
	return s
}

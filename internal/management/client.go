package management

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Reply is one answer from the server: its code and its lines' text, in
// order, without codes. See docs/management.md §3.
type Reply struct {
	Code  int
	Lines []string
}

// OK reports a 2xx reply.
func (r Reply) OK() bool { return r.Code >= 200 && r.Code < 300 }

// Text is the reply's lines joined by newlines.
func (r Reply) Text() string { return strings.Join(r.Lines, "\n") }

// String renders the reply as the server sent it.
func (r Reply) String() string {
	var b strings.Builder
	for i, l := range r.Lines {
		sep := '-'
		if i == len(r.Lines)-1 {
			sep = ' '
		}
		fmt.Fprintf(&b, "%03d%c%s", r.Code, sep, l)
		if i < len(r.Lines)-1 {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// ReplyError is a reply that is not 2xx, as an error.
type ReplyError struct{ Reply Reply }

func (e *ReplyError) Error() string {
	return fmt.Sprintf("%d %s", e.Reply.Code, strings.Join(e.Reply.Lines, " / "))
}

// ErrBadReply is returned (wrapped) for bytes from the server that do not
// form a reply.
var ErrBadReply = errors.New("malformed reply")

// replyReaderSize fits the longest reply line: code, separator, text and
// line ending.
const replyReaderSize = MaxReplyLineSize + 16

// ReadReply reads one possibly multi-line reply: lines "DDD-text" followed
// by a last "DDD text" (or "DDD"), all with the same code, at most
// MaxReplyLines lines of at most MaxReplyLineSize bytes of text. r should
// have room for a whole line (NewReplyReader).
func ReadReply(r *bufio.Reader) (Reply, error) {
	var rep Reply
	for {
		line, err := r.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			return Reply{}, fmt.Errorf("%w: line longer than %d bytes", ErrBadReply, r.Size())
		case errors.Is(err, io.EOF) && len(line) == 0 && len(rep.Lines) == 0:
			return Reply{}, io.EOF
		case errors.Is(err, io.EOF):
			return Reply{}, fmt.Errorf("%w: connection closed in the middle of a reply", ErrBadReply)
		case err != nil:
			return Reply{}, err
		}
		code, last, text, err := parseReplyLine(trimLineEnding(line))
		if err != nil {
			return Reply{}, err
		}
		if len(rep.Lines) > 0 && code != rep.Code {
			return Reply{}, fmt.Errorf("%w: code %d within a %d reply", ErrBadReply, code, rep.Code)
		}
		rep.Code = code
		rep.Lines = append(rep.Lines, text)
		if last {
			return rep, nil
		}
		if len(rep.Lines) >= MaxReplyLines {
			return Reply{}, fmt.Errorf("%w: more than %d lines", ErrBadReply, MaxReplyLines)
		}
	}
}

// NewReplyReader wraps r with a buffer that fits any reply line.
func NewReplyReader(r io.Reader) *bufio.Reader { return bufio.NewReaderSize(r, replyReaderSize) }

func parseReplyLine(line []byte) (code int, last bool, text string, err error) {
	if len(line) < 3 {
		return 0, false, "", fmt.Errorf("%w: %q", ErrBadReply, line)
	}
	for _, c := range line[:3] {
		if c < '0' || c > '9' {
			return 0, false, "", fmt.Errorf("%w: no reply code in %q", ErrBadReply, line)
		}
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	if code < 100 {
		return 0, false, "", fmt.Errorf("%w: reply code %03d", ErrBadReply, code)
	}
	switch {
	case len(line) == 3:
		return code, true, "", nil
	case line[3] == ' ':
		return code, true, string(line[4:]), nil
	case line[3] == '-':
		return code, false, string(line[4:]), nil
	}
	return 0, false, "", fmt.Errorf("%w: %q", ErrBadReply, line)
}

// Client is one management session, as mixctl opens it. It is not safe
// for concurrent use: the protocol is one command at a time.
type Client struct {
	conn net.Conn
	r    *bufio.Reader
	// Banner is the server's greeting (220).
	Banner Reply
}

// Dial connects to the management socket at path and reads the banner. A
// refusal (530) or a busy server (421) is returned as a *ReplyError.
func Dial(ctx context.Context, path string) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	c := &Client{conn: conn, r: NewReplyReader(conn)}
	c.deadline(ctx)
	banner, err := ReadReply(c.r)
	if err != nil {
		conn.Close()
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the server closed the connection without a greeting")
		}
		return nil, fmt.Errorf("reading the greeting: %w", err)
	}
	if banner.Code != CodeReady {
		conn.Close()
		return nil, &ReplyError{Reply: banner}
	}
	c.Banner = banner
	return c, nil
}

func (c *Client) deadline(ctx context.Context) {
	if d, ok := ctx.Deadline(); ok {
		c.conn.SetDeadline(d)
	} else {
		c.conn.SetDeadline(time.Time{})
	}
}

// Do sends one command line and returns the reply, whatever its code; the
// error is for transport and protocol failures only. A line holding a
// line break is refused: it would be two commands.
func (c *Client) Do(ctx context.Context, line string) (Reply, error) {
	if strings.ContainsAny(line, "\r\n") {
		return Reply{}, errors.New("command line holds a line break")
	}
	c.deadline(ctx)
	_, werr := io.WriteString(c.conn, line+"\n")
	// Read even when the write failed: a server that refused an
	// over-long line answers and closes before reading all of it.
	rep, err := ReadReply(c.r)
	if err != nil {
		if werr != nil {
			return Reply{}, werr
		}
		if errors.Is(err, io.EOF) {
			return Reply{}, errors.New("the server closed the connection without replying")
		}
		return Reply{}, err
	}
	return rep, nil
}

// Close ends the session without QUIT.
func (c *Client) Close() error { return c.conn.Close() }

package config

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Problem is one thing wrong with a configuration file.
type Problem struct {
	// Key is the dotted key path ("Server.DataDir",
	// "Provider.Kaetzchen[1].Endpoint"); empty for a file-level problem
	// such as a syntax error.
	Key string
	// Line and Column locate the problem in the file when known (syntax
	// and type errors); 0 otherwise.
	Line, Column int
	// Msg says what is wrong.
	Msg string
}

// String renders the problem as "Key: Msg" prefixed by its position.
func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "%d:", p.Line)
		if p.Column > 0 {
			fmt.Fprintf(&b, "%d:", p.Column)
		}
		b.WriteByte(' ')
	}
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error is returned by Load and LoadBytes for a file that cannot be used.
// It lists every problem found, not just the first, so that an operator
// fixes a file in one round. Use errors.As to inspect Problems.
type Error struct {
	File     string
	Problems []Problem
}

// Error renders one line per problem: "FILE:LINE:COL: Key: what is wrong",
// the position omitted when unknown.
func (e *Error) Error() string {
	lines := make([]string, 0, len(e.Problems))
	for _, p := range e.Problems {
		sep := ": "
		if p.Line > 0 {
			sep = ":"
		}
		lines = append(lines, e.File+sep+p.String())
	}
	if len(lines) == 0 {
		return e.File + ": invalid configuration"
	}
	return strings.Join(lines, "\n")
}

// checker collects problems and warnings while a file is converted.
type checker struct {
	file     string
	problems []Problem
	warnings []string
}

func (c *checker) errorf(key, format string, args ...any) {
	c.problems = append(c.problems, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) warnf(key, format string, args ...any) {
	p := Problem{Key: key, Msg: fmt.Sprintf(format, args...)}
	c.warnings = append(c.warnings, c.file+": "+p.String())
}

func (c *checker) err() error {
	if len(c.problems) == 0 {
		return nil
	}
	return &Error{File: c.file, Problems: c.problems}
}

// syntaxProblem turns a TOML parse error into a Problem with line and
// column.
func syntaxProblem(err error) Problem {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return Problem{Line: pe.Position.Line, Column: pe.Position.Col, Msg: "syntax error: " + pe.Message}
	}
	return Problem{Msg: "syntax error: " + strings.TrimPrefix(err.Error(), "toml: ")}
}

// The decoder reports type mismatches as plain errors of the form
// `toml: line N (last key "A.B"): MESSAGE`; these expressions recover the
// parts so that the operator sees the key path and line in our format.
var (
	decodeErrRE       = regexp.MustCompile(`^toml: (?:line (\d+) )?\(last key "(.*)"\): (.*)$`)
	incompatibleRE    = regexp.MustCompile(`^incompatible types: TOML value has type (.+); destination has type (.+)$`)
	expectedTableRE   = regexp.MustCompile(`^type mismatch for .*: expected table but found (.+)$`)
	tomlTypeNames     = map[string]string{"string": "a string", "int64": "an integer", "float64": "a float", "bool": "a boolean", "[]any": "an array", "map[string]any": "a table", "[]map[string]any": "an array of tables"}
	wantTypeNames     = map[string]string{"string": "a string", "integer": "an integer", "float": "a float", "boolean": "a boolean", "slice": "an array", "map": "a table", "primitive (string-like)": "a string"}
	datetimeTypeNames = []string{"time.Time", "toml.Local"}
)

func describeTOMLType(t string) string {
	if s, ok := tomlTypeNames[t]; ok {
		return s
	}
	for _, p := range datetimeTypeNames {
		if strings.HasPrefix(t, p) {
			return "a datetime"
		}
	}
	return t
}

// decodeProblem turns an error from decoding into our structs (a wrong
// type, an out-of-range number, a bad duration) into a Problem naming the
// key path and line.
func decodeProblem(err error) Problem {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return Problem{Key: pe.LastKey, Line: pe.Position.Line, Msg: pe.Message}
	}
	m := decodeErrRE.FindStringSubmatch(err.Error())
	if m == nil {
		return Problem{Msg: strings.TrimPrefix(err.Error(), "toml: ")}
	}
	p := Problem{Key: m[2], Msg: m[3]}
	p.Line, _ = strconv.Atoi(m[1])
	if t := incompatibleRE.FindStringSubmatch(m[3]); t != nil {
		want := wantTypeNames[t[2]]
		if want == "" {
			want = t[2]
		}
		p.Msg = fmt.Sprintf("wrong type: the value is %s, want %s", describeTOMLType(t[1]), want)
	} else if t := expectedTableRE.FindStringSubmatch(m[3]); t != nil {
		p.Msg = fmt.Sprintf("wrong type: the value is %s, want a table", describeTOMLType(t[1]))
	}
	return p
}

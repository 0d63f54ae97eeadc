package config

import (
	"reflect"
	"strings"

	"github.com/BurntSushi/toml"
)

// checkUnknownKeys reports every key of the file that no section defines,
// with its full path and, when a known key is spelled alike, a suggestion.
// A key inside an unknown section is not reported again; keys inside
// free-form tables (a service's Config) are checked by their section.
func checkUnknownKeys(ck *checker, undecoded []toml.Key, md *toml.MetaData) {
	root := reflect.TypeFor[fileConfig]()
	reported := map[string]bool{}
	for _, k := range undecoded {
		known, freeForm, parent := walkKey(root, k)
		if freeForm || known == len(k) {
			continue
		}
		unknown := toml.Key(k[:known+1])
		name := unknown.String()
		if reported[name] {
			continue
		}
		reported[name] = true
		what := "unknown key"
		if t := md.Type(unknown...); t == "Hash" || t == "ArrayHash" {
			what = "unknown section"
		}
		if s := suggest(parent, unknown[known]); s != "" {
			what += " (did you mean " + s + "?)"
		}
		ck.errorf(name, "%s", what)
	}
}

// walkKey follows the key's pieces through the struct types of t. It
// returns how many leading pieces name known fields, whether it stopped at
// a free-form table (a map or non-struct value), and the struct type in
// which the first unknown piece was looked up.
func walkKey(t reflect.Type, pieces []string) (known int, freeForm bool, parent reflect.Type) {
	for i, p := range pieces {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return i, true, nil
		}
		f, ok := fieldFold(t, p)
		if !ok {
			return i, false, t
		}
		t = f.Type
	}
	return len(pieces), false, nil
}

// fieldFold finds an exported field by name, ignoring case as the decoder
// does.
func fieldFold(t reflect.Type, name string) (reflect.StructField, bool) {
	for f := range fieldsOf(t) {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func fieldsOf(t reflect.Type) func(func(reflect.StructField) bool) {
	return func(yield func(reflect.StructField) bool) {
		for i := 0; i < t.NumField(); i++ {
			if f := t.Field(i); f.IsExported() && !yield(f) {
				return
			}
		}
	}
}

// suggest returns the field of t whose name is closest to name, if it is
// close enough to be a likely misspelling.
func suggest(t reflect.Type, name string) string {
	best, bestDist := "", 3
	lname := strings.ToLower(name)
	for f := range fieldsOf(t) {
		d := editDistance(lname, strings.ToLower(f.Name))
		if d < bestDist && d <= (len(f.Name)+1)/2 {
			best, bestDist = f.Name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

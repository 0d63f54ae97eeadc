package ipc_test

import (
	"fmt"
	"strconv"
)

func itoa(n int) string { return strconv.Itoa(n) }

func kvStrings(kv []any) []string {
	out := make([]string, len(kv))
	for i, v := range kv {
		out[i] = fmt.Sprint(v)
	}
	return out
}

package ipc

import (
	"strings"
	"testing"
)

func TestAuthorizers(t *testing.T) {
	mixd := Cred{PID: 10, UID: 1001, GID: 2001}
	admin := Cred{PID: 11, UID: 1500, GID: 3000}
	other := Cred{PID: 12, UID: 1600, GID: 4000}
	auth := AnyOf(AllowUIDs("mixd", 1001), AllowGIDs("admin", 3000))
	for _, c := range []struct {
		cred Cred
		role Role
	}{{mixd, "mixd"}, {admin, "admin"}} {
		role, err := auth(c.cred)
		if err != nil || role != c.role {
			t.Errorf("auth(%v) = %q, %v; want %q", c.cred, role, err, c.role)
		}
	}
	_, err := auth(other)
	if err == nil {
		t.Fatal("a caller matching nothing was admitted")
	}
	if !strings.Contains(err.Error(), "uid 1600") || !strings.Contains(err.Error(), "gid 4000") {
		t.Errorf("refusal does not give every reason: %v", err)
	}
	if _, err := AnyOf()(mixd); err == nil {
		t.Error("AnyOf() admitted a caller")
	}
}

func TestAllowUIDsCopiesItsList(t *testing.T) {
	uids := []uint32{5}
	a := AllowUIDs("r", uids...)
	uids[0] = 6
	if _, err := a(Cred{UID: 5}); err != nil {
		t.Error("changing the caller's slice changed the authorizer")
	}
}

func TestProtocolValidate(t *testing.T) {
	for _, p := range []Protocol{{Name: ""}, {Name: "a b"}, {Name: strings.Repeat("x", 65)}, {Name: "ok", MaxFrame: 10}, {Name: "ok", MaxFrame: MaxMaxFrame + 1}} {
		if p.validate() == nil {
			t.Errorf("%+v accepted", p)
		}
	}
	if err := (Protocol{Name: "keyd", Version: 1}).validate(); err != nil {
		t.Error(err)
	}
}

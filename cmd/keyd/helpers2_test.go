package main

import (
	"context"
	"time"

	"github.com/splitmix/splitmix/ipc/keyproto"
)

// dial2 dials without failing the test, for expected refusals.
func dial2(socket string) (*keyproto.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := keyproto.Dial(ctx, socket, nil)
	if err == nil {
		c.Close()
	}
	return c, err
}

// Package loadgen is the logic of cmd/mixload, the load tool: it drives a
// chosen number of simulated users through a running network at a chosen
// rate (or as fast as the network acknowledges), for a chosen time, and
// reports what arrived, how fast and how late, the delays the senders chose
// and every node's drop counters over the run.
//
// A run (Run) goes:
//
//  1. read every node's STATS over its management socket (a node that does
//     not answer fails the run before any traffic);
//  2. make Clients users, spread over the Providers in turn, with link keys
//     generated in memory and registered with ADD_USER;
//  3. connect one internal/client Client per user; each sends to a user of
//     another Provider, with a SURB-ACK, and retrieves its own spool
//     continuously (polling an empty spool every PollInterval);
//  4. send for Warmup+Duration, left out of the figures during Warmup;
//     then wait up to Drain for the deliveries and ACKs still under way;
//  5. read STATS again (the report holds the difference) and remove the
//     users with REMOVE_USER, also after an error or an interrupt.
//
// Every message body (body.go) carries the run's id, the sender, a sequence
// number and the send time on the run's monotonic clock: the sender and the
// receiver are in the same process, so latency is simply receive time minus
// send time. The ledger (ledger.go) books each message once when sent, when
// its ACK is seen and each time it is received, which gives delivered,
// duplicates and missing exactly.
//
// The client library does not say which delays it chose for a packet, so
// the report compares latencies with an independent sample of the same
// delay distribution (delays.go); the difference of the means is the
// suite's overhead, which the report also gives per processing node.
//
// SECURITY: the tool needs the management sockets, i.e. the nodes' Unix
// user or their admin group. Its users' keys exist only in its memory and
// the users are removed at the end. It logs nothing that names a message;
// user names are those it made up.
package loadgen

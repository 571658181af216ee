// Command harness runs modelpin's config-management plugin through Argo CD's own code: the real
// argocd-cmp-server (a child process of this binary, with plugin/plugin.yaml) and the real
// repo-server gRPC service, called through the client the application controller uses.
//
//	harness serve --repo DIR --plugin-config-dir DIR --work DIR --path-prepend DIR[:DIR...]
//
// reads one JSON request per line on stdin and answers one JSON line per request on stdout
// (see request and response in serve.go); the assertions live in test/integration/argocd.test.ts.
//
//	harness client-side-apply --last-applied F --config F --live F
//
// prints what `kubectl apply` without --server-side makes of a live Deployment (clientapply.go).
// The same binary started as `harness argocd-cmp-server ...` is Argo CD's argocd-cmp-server
// command, unchanged (cmd/argocd-cmp-server/commands), as the plugin sidecar runs it.
//
// Build (cached by test/argocd/build.mjs): GOTOOLCHAIN=go1.27.3 go build -o BIN .
package main

import (
	"fmt"
	"os"

	cmpcommands "github.com/argoproj/argo-cd/v3/cmd/argocd-cmp-server/commands"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: harness serve --repo DIR --plugin-config-dir DIR --work DIR --path-prepend DIRS | harness client-side-apply --last-applied F --config F --live F | harness argocd-cmp-server [flags]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "argocd-cmp-server":
		cmd := cmpcommands.NewCommand()
		cmd.SetArgs(os.Args[2:])
		if err := cmd.Execute(); err != nil {
			os.Exit(1)
		}
	case "client-side-apply":
		if err := clientSideApply(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "harness:", err)
			os.Exit(1)
		}
	case "serve":
		if err := serve(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "harness:", err)
			os.Exit(1)
		}
	default:
		fmt.Fprintf(os.Stderr, "harness: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
}

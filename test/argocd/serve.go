package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	log "github.com/sirupsen/logrus"
	"google.golang.org/grpc/status"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"github.com/argoproj/argo-cd/v3/reposerver"
	"github.com/argoproj/argo-cd/v3/reposerver/apiclient"
	reposervercache "github.com/argoproj/argo-cd/v3/reposerver/cache"
	"github.com/argoproj/argo-cd/v3/reposerver/metrics"
	"github.com/argoproj/argo-cd/v3/reposerver/repository"
	cacheutil "github.com/argoproj/argo-cd/v3/util/cache"
	"github.com/argoproj/argo-cd/v3/util/git"
	"github.com/argoproj/argo-cd/v3/util/tls"
)

// request is one line on stdin. Source is an Application's spec.source as Argo CD's API takes it
// (JSON of v1alpha1.ApplicationSource: path, targetRevision, plugin {name, env, parameters});
// its repoURL is replaced by the local repository.
type request struct {
	ID          int                        `json:"id"`
	Op          string                     `json:"op"` // "generate" (GenerateManifest) or "appDetails" (GetAppDetails: the UI's parameters tab)
	Source      v1alpha1.ApplicationSource `json:"source"`
	Revision    string                     `json:"revision"`    // default: source.targetRevision, else HEAD
	AppName     string                     `json:"appName"`     // as app.InstanceName() gives it: <appns>_<name> outside Argo CD's namespace
	Namespace   string                     `json:"namespace"`   // the destination namespace
	Project     string                     `json:"project"`     // default "default"
	KubeVersion string                     `json:"kubeVersion"` // as the controller sends it: "v" + ParseGeneric(server GitVersion)
	APIVersions []string                   `json:"apiVersions"`
	NoCache     bool                       `json:"noCache"`
}

type response struct {
	ID         int                                `json:"id"`
	Manifests  []string                           `json:"manifests,omitempty"`
	Revision   string                             `json:"revision,omitempty"`
	SourceType string                             `json:"sourceType,omitempty"`
	Parameters []*apiclient.ParameterAnnouncement `json:"parameters,omitempty"`
	Error      *responseError                     `json:"error,omitempty"`
}

type responseError struct {
	Code    string `json:"code"`    // the gRPC status code the controller receives
	Message string `json:"message"` // err.Error() as the controller receives it (what the UI shows, after its prefix)
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	repo := fs.String("repo", "", "git repository (a directory) the repo-server clones")
	configDir := fs.String("plugin-config-dir", "", "directory holding plugin.yaml (the ConfigMap mount)")
	work := fs.String("work", "", "scratch directory: sockets, the plugin container's /tmp, the repo-server's clones")
	pathPrepend := fs.String("path-prepend", "", "directories put before the plugin image's PATH (where `modelpin` and node are)")
	var cmpEnv multiFlag
	fs.Var(&cmpEnv, "cmp-env", "KEY=VALUE in the plugin container's environment (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *repo == "" || *configDir == "" || *work == "" {
		return errors.New("--repo, --plugin-config-dir and --work are required")
	}
	log.SetOutput(os.Stderr)
	log.SetLevel(log.WarnLevel)

	plugins := filepath.Join(*work, "plugins")
	for _, d := range []string{plugins, filepath.Join(*work, "cmp-tmp"), filepath.Join(*work, "cmp-home"), filepath.Join(*work, "repo-server-tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}

	cmp, err := startCMPServer(*work, *configDir, plugins, *pathPrepend, cmpEnv)
	if err != nil {
		return err
	}
	defer cmp.stop()

	// The repo-server side: both DetectConfigManagementPlugin and the service read these from the
	// process environment, as in the argocd-repo-server container. Argo CD's image puts
	// hack/git-verify-wrapper.sh on PATH (the repo-server runs it for every checkout); the build
	// copies it beside this binary.
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(self), "git-verify-wrapper.sh")); err != nil {
		return fmt.Errorf("git-verify-wrapper.sh from argo-cd's hack/ must lie beside the harness (test/argocd/build.mjs copies it): %w", err)
	}
	if err := os.Setenv("PATH", filepath.Dir(self)+":"+os.Getenv("PATH")); err != nil {
		return err
	}
	if err := os.Setenv("ARGOCD_PLUGINSOCKFILEPATH", plugins); err != nil {
		return err
	}
	if err := os.Setenv("TMPDIR", filepath.Join(*work, "repo-server-tmp")); err != nil {
		return err
	}
	addr, stopRepoServer, err := startRepoServer()
	if err != nil {
		return err
	}
	defer stopRepoServer()

	// The application controller's client: TLS off (as with --repo-server-plaintext), 60 s timeout
	// (--repo-server-timeout-seconds default).
	conn, client, err := apiclient.NewRepoServerClientset(addr, 60, tls.Configuration{DisableTLS: true}).NewRepoServerClient()
	if err != nil {
		return err
	}
	defer conn.Close()

	repoURL := "file://" + *repo
	out := json.NewEncoder(os.Stdout)
	if err := out.Encode(map[string]any{"ready": true, "repoURL": repoURL}); err != nil {
		return err
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 16<<20)
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			return fmt.Errorf("bad request line: %w", err)
		}
		if err := out.Encode(handle(client, repoURL, &req)); err != nil {
			return err
		}
	}
	return in.Err()
}

func handle(client apiclient.RepoServerServiceClient, repoURL string, req *request) *response {
	res := &response{ID: req.ID}
	src := req.Source
	src.RepoURL = repoURL
	if src.TargetRevision == "" {
		src.TargetRevision = "HEAD"
	}
	revision := req.Revision
	if revision == "" {
		revision = src.TargetRevision
	}
	project := req.Project
	if project == "" {
		project = "default"
	}
	repo := &v1alpha1.Repository{Repo: repoURL, Type: "git"}
	ctx := context.Background()
	var err error
	switch req.Op {
	case "generate":
		var m *apiclient.ManifestResponse
		// The fields controller/state.go fills for a single-source Application.
		m, err = client.GenerateManifest(ctx, &apiclient.ManifestRequest{
			Repo:               repo,
			Repos:              []*v1alpha1.Repository{},
			Revision:           revision,
			NoCache:            req.NoCache,
			AppLabelKey:        "app.kubernetes.io/instance",
			AppName:            req.AppName,
			Namespace:          req.Namespace,
			ApplicationSource:  &src,
			KustomizeOptions:   &v1alpha1.KustomizeOptions{},
			KubeVersion:        req.KubeVersion,
			ApiVersions:        req.APIVersions,
			TrackingMethod:     string(v1alpha1.TrackingMethodAnnotation),
			EnabledSourceTypes: map[string]bool{},
			HelmOptions:        &v1alpha1.HelmOptions{},
			ProjectName:        project,
			ProjectSourceRepos: []string{"*"},
		})
		if err == nil {
			res.Manifests, res.Revision, res.SourceType = m.Manifests, m.Revision, m.SourceType
		}
	case "appDetails":
		var d *apiclient.RepoAppDetailsResponse
		d, err = client.GetAppDetails(ctx, &apiclient.RepoServerAppDetailsQuery{
			Repo:             repo,
			Source:           &src,
			AppName:          req.AppName,
			KustomizeOptions: &v1alpha1.KustomizeOptions{},
			NoCache:          req.NoCache,
			TrackingMethod:   string(v1alpha1.TrackingMethodAnnotation),
		})
		if err == nil {
			res.SourceType = d.Type
			if d.Plugin != nil {
				res.Parameters = d.Plugin.ParametersAnnouncement
			}
		}
	default:
		err = fmt.Errorf("unknown op %q", req.Op)
	}
	if err != nil {
		s := status.Convert(err)
		res.Error = &responseError{Code: s.Code().String(), Message: err.Error()}
	}
	return res
}

// startRepoServer runs Argo CD's repo-server gRPC server (reposerver.NewServer, as
// cmd/argocd-repo-server does, TLS off) on 127.0.0.1 with an in-memory cache in place of Redis.
func startRepoServer() (string, func(), error) {
	cache := reposervercache.NewCache(cacheutil.NewCache(cacheutil.NewInMemoryCache(24*time.Hour)), 24*time.Hour, 3*time.Minute, 10*time.Second)
	server, err := reposerver.NewServer(metrics.NewMetricsServer(), cache, nil, repository.RepoServerInitConstants{
		// The argocd-repo-server flag defaults.
		MaxCombinedDirectoryManifestsSize: resource.MustParse("10M"),
		StreamedManifestMaxTarSize:        100 * 1000 * 1000,
		StreamedManifestMaxExtractedSize:  1000 * 1000 * 1000,
		HelmManifestMaxExtractedSize:      1000 * 1000 * 1000,
		HelmRegistryMaxIndexSize:          1000 * 1000 * 1000,
		OCIManifestMaxExtractedSize:       1000 * 1000 * 1000,
		HelmChartCacheExpiration:          24 * time.Hour,
	}, &git.NoopCredsStore{}, "", true)
	if err != nil {
		return "", nil, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	grpcServer := server.CreateGRPC()
	go func() { _ = grpcServer.Serve(lis) }()
	return lis.Addr().String(), grpcServer.Stop, nil
}

type cmpProcess struct {
	cmd  *exec.Cmd
	done chan error
}

// startCMPServer starts this binary as argocd-cmp-server with the plugin container's environment:
// a fresh one (not this process's), as a container would have, with the image's PATH.
func startCMPServer(work, configDir, plugins, pathPrepend string, extra []string) (*cmpProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" // the node image's PATH
	if pathPrepend != "" {
		path = pathPrepend + ":" + path
	}
	cmd := exec.Command(self, "argocd-cmp-server", "--config-dir-path", configDir, "--loglevel", "info")
	cmd.Env = append([]string{
		"PATH=" + path,
		"HOME=" + filepath.Join(work, "cmp-home"),
		"TMPDIR=" + filepath.Join(work, "cmp-tmp"),
		"ARGOCD_PLUGINSOCKFILEPATH=" + plugins,
		"ARGOCD_CMP_WORKDIR=" + filepath.Join(work, "cmp-tmp"),
	}, extra...)
	logFile, err := os.Create(filepath.Join(work, "cmp-server.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// The plugin server dies with the harness, whatever kills it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &cmpProcess{cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); logFile.Close() }()

	sock := filepath.Join(plugins, "modelpin.sock")
	deadline := time.Now().Add(60 * time.Second)
	for {
		if fi, err := os.Stat(sock); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return p, nil
		}
		select {
		case err := <-p.done:
			out, _ := os.ReadFile(filepath.Join(work, "cmp-server.log"))
			return nil, fmt.Errorf("argocd-cmp-server exited before listening (%v):\n%s", err, out)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("argocd-cmp-server did not create %s within 60 s", sock)
		}
	}
}

func (p *cmpProcess) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

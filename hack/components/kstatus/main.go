// kstatus prints the status that sigs.k8s.io/cli-utils' kstatus computes for one object, as Flux,
// kpt and `kubectl apply --prune` style tools see it: InProgress, Current, Failed, Terminating,
// NotFound or Unknown, with kstatus's message.
//
// The object comes from stdin (JSON or YAML) or, given TYPE/NAME, from the API server through a
// kubeconfig. The result is one JSON line on stdout:
//
//	{"status":"InProgress","message":"...","generation":3,"resourceVersion":"1234"}
//
// Exit status 0 whatever the computed status; 1 when the object cannot be read or computed.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type result struct {
	Status          string `json:"status"`
	Message         string `json:"message"`
	Generation      int64  `json:"generation"`
	ResourceVersion string `json:"resourceVersion"`
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "read TYPE/NAME from the cluster of this kubeconfig (default: read the object from stdin)")
	namespace := flag.String("namespace", "", "namespace of TYPE/NAME (default: the kubeconfig context's)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: kstatus < object.yaml\n       kstatus --kubeconfig=PATH [--namespace=NS] TYPE/NAME   (TYPE: resource, kind or resource.group, e.g. aimodel)\n")
		flag.PrintDefaults()
	}
	flag.Parse()

	var obj *unstructured.Unstructured
	var err error
	switch {
	case flag.NArg() == 0 && *kubeconfig == "":
		obj, err = decode(os.Stdin)
	case flag.NArg() == 1 && *kubeconfig != "":
		obj, err = fetch(*kubeconfig, *namespace, flag.Arg(0))
	default:
		flag.Usage()
		os.Exit(2)
	}
	if err != nil {
		fail(err)
	}
	computed, err := status.Compute(obj)
	if err != nil {
		fail(fmt.Errorf("computing the status of %s %s: %w", obj.GetKind(), obj.GetName(), err))
	}
	out, _ := json.Marshal(result{
		Status:          computed.Status.String(),
		Message:         computed.Message,
		Generation:      obj.GetGeneration(),
		ResourceVersion: obj.GetResourceVersion(),
	})
	fmt.Println(string(out))
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "kstatus: %v\n", err)
	os.Exit(1)
}

func decode(r io.Reader) (*unstructured.Unstructured, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading stdin: %w", err)
	}
	// Through JSON, so numbers decode as int64 the way the API machinery (and kstatus) expect.
	data, err = yaml.ToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("the object on stdin is neither JSON nor YAML: %w", err)
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("decoding the object on stdin: %w", err)
	}
	if obj.GetKind() == "" {
		return nil, fmt.Errorf("the object on stdin has no kind")
	}
	return obj, nil
}

func fetch(kubeconfig, namespace, typeAndName string) (*unstructured.Unstructured, error) {
	typeName, name, ok := strings.Cut(typeAndName, "/")
	if !ok || typeName == "" || name == "" {
		return nil, fmt.Errorf("want TYPE/NAME, got %q", typeAndName)
	}
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}, &clientcmd.ConfigOverrides{})
	config, err := loader.ClientConfig()
	if err != nil {
		return nil, err
	}
	if namespace == "" {
		if namespace, _, err = loader.Namespace(); err != nil {
			return nil, err
		}
	}
	disco, err := discovery.NewDiscoveryClientForConfig(config)
	if err != nil {
		return nil, err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco))
	gvr, err := mapper.ResourceFor(schema.ParseGroupResource(typeName).WithVersion(""))
	if err != nil {
		return nil, fmt.Errorf("resolving %q: %w", typeName, err)
	}
	client, err := dynamic.NewForConfig(config)
	if err != nil {
		return nil, err
	}
	obj, err := client.Resource(gvr).Namespace(namespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return obj, nil
}

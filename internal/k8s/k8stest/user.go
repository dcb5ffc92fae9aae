package k8stest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// User is a service account that holds only the rights of the roles it was bound to: what the RBAC tests
// give ferry instead of the admin.
type User struct {
	Name       string       // as the API server names it: system:serviceaccount:NAMESPACE:NAME
	Config     *rest.Config // authenticated by the service account's token
	Kubeconfig string       // a kubeconfig file with that token; its current context is ContextName
	Client     kubernetes.Interface
}

// NewUser creates the service account namespace/name with a token valid for a day, binds it to each role
// (a Role by a RoleBinding in namespace, a ClusterRole by a ClusterRoleBinding) and writes its kubeconfig.
// The roles need not exist yet. To bind a ClusterRole within one namespace, create that RoleBinding with
// the admin Client.
func (cp *ControlPlane) NewUser(ctx context.Context, namespace, name string, roles ...rbacv1.RoleRef) (*User, error) {
	user := "system:serviceaccount:" + namespace + ":" + name
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}}
	if _, err := cp.Client.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("new user %s: %w", user, err)
	}
	subjects := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: namespace}}
	for _, role := range roles {
		role.APIGroup = rbacv1.GroupName
		bindingName := name + "-" + role.Name
		var err error
		switch role.Kind {
		case "Role":
			rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: bindingName, Namespace: namespace}, RoleRef: role, Subjects: subjects}
			_, err = cp.Client.RbacV1().RoleBindings(namespace).Create(ctx, rb, metav1.CreateOptions{})
		case "ClusterRole":
			crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: namespace + "-" + bindingName}, RoleRef: role, Subjects: subjects}
			_, err = cp.Client.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{})
		default:
			err = fmt.Errorf("role kind %q is neither Role nor ClusterRole", role.Kind)
		}
		if err != nil {
			return nil, fmt.Errorf("new user %s: bind %s %s: %w", user, role.Kind, role.Name, err)
		}
	}
	expiry := int64(24 * 60 * 60)
	tr, err := cp.Client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name,
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("new user %s: token: %w", user, err)
	}
	u := &User{Name: user, Config: restConfig(cp.Config.Host, cp.pki.CAPEM, tr.Status.Token)}
	dir := filepath.Join(cp.Dir, "users")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("new user %s: %w", user, err)
	}
	u.Kubeconfig = filepath.Join(dir, namespace+"."+name+".kubeconfig")
	if err := WriteKubeconfig(u.Kubeconfig, ContextName, u.Config); err != nil {
		return nil, fmt.Errorf("new user %s: %w", user, err)
	}
	if u.Client, err = kubernetes.NewForConfig(u.Config); err != nil {
		return nil, fmt.Errorf("new user %s: %w", user, err)
	}
	return u, nil
}

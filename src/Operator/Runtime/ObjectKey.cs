namespace ResilienceOperator.Runtime;

/// <summary>namespace/name of an object: what a reconcile takes.</summary>
internal readonly record struct ObjectKey(string Namespace, string Name)
{
    public override string ToString() => Namespace + "/" + Name;

    public static ObjectKey Of(k8s.IKubernetesObject<k8s.Models.V1ObjectMeta> obj) =>
        new(obj.Metadata.NamespaceProperty ?? "", obj.Metadata.Name);
}

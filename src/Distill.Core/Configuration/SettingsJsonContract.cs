using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Distill.Core.Configuration;

/// <summary>
/// System.Text.Json options that see an appsettings options type as <see cref="StrictOptionsBinder"/> binds it: the property names
/// as written (PascalCase), only the properties the binder accepts, no [Secret] property (a file must not hold one), enums by
/// name, and unknown keys refused. <see cref="JsonSchemaGenerator"/> makes the settings schema from these.
/// </summary>
public static class SettingsJsonContract
{
    public static JsonSerializerOptions Create() => new()
    {
        RespectNullableAnnotations = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Converters = { new JsonStringEnumConverter() },
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { OnlyBindableKeys } },
    };

    private static void OnlyBindableKeys(JsonTypeInfo info)
    {
        if (info.Kind != JsonTypeInfoKind.Object) return;
        var bindable = StrictOptionsBinder.BindableProperties(info.Type);
        foreach (var property in info.Properties.ToList())
        {
            var member = property.AttributeProvider as PropertyInfo;
            if (member is null || !bindable.ContainsKey(member.Name) || member.IsDefined(typeof(SecretAttribute), inherit: true))
            {
                info.Properties.Remove(property);
            }
        }
    }
}

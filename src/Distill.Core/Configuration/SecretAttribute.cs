namespace Distill.Core.Configuration;

/// <summary>
/// Marks a setting that holds a secret. It may come only from environment variables or user secrets, never from a
/// file in the repository, and it is never printed.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SecretAttribute : Attribute;

using Distill.Models.Native;

namespace Distill.Models.Tests;

/// <summary>Base for tests that touch TorchSharp: the native library must be patched before the first torch call.</summary>
public abstract class TorchTest
{
    protected TorchTest() => TorchNative.EnsureLoaded();
}

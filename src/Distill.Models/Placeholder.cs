namespace Distill.Models; internal static class Placeholder { }

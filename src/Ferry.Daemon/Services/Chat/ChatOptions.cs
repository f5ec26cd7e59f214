using Ferry.Daemon.Listeners;
using Ferry.Daemon.Services.Fanout;

namespace Ferry.Daemon.Services.Chat;

/// <summary>A chat listener's options: framing, slow-consumer limits, and the backplane that shares its rooms, if any.</summary>
internal sealed record ChatOptions(LineOptions Lines, OutboundLimits Limits, Backplane.BackplaneOptions? Backplane = null)
{
    public static ChatOptions Read(OptionReader reader) =>
        new(LineOptions.Read(reader), OutboundLimits.Read(reader, OutboundLimits.Default), Services.Backplane.BackplaneOptions.Read(reader));
}

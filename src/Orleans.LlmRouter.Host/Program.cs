using Orleans.LlmRouter.Host.Hosting;

return await GatewayHost.RunAsync(args);

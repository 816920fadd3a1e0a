'use strict';
// An ocpp-rpc RPCClient in strict mode playing a charging station against ocppkit's CSMS.
// node rpc_station.js --url ws://127.0.0.1:P --identity ID --protocols ocpp1.6[,ocpp2.0.1] [--password PW]
// The test drives its calls over stdin (see rpc_common.js); it answers the CSMS's calls itself.

const {RPCClient} = require('ocpp-rpc');
const {emit, errorInfo, parseArgs, watch, handle, commandLoop} = require('./rpc_common');

const args = parseArgs(process.argv.slice(2));
const protocols = args.protocols.split(',');
const client = new RPCClient({
    endpoint: args.url,
    identity: args.identity,
    protocols,
    password: args.password,
    strictMode: true,
    reconnect: false,
    callTimeoutMs: 10000,
    // offer RFC 7692 compression explicitly (OCPP 2.x: a CSMS must support it)
    wsOpts: {perMessageDeflate: true},
});
const rawWaiters = new Map();
watch(client, rawWaiters);

// The station's own state: what the CSMS reads and changes.
const config16 = new Map([['HeartbeatInterval', '300'], ['MeterValueSampleInterval', '60']]);
const variables201 = new Map([['OCPPCommCtrlr/HeartbeatInterval', '300'], ['SampledDataCtrlr/TxUpdatedInterval', '60']]);
const varKey = (d) => `${d.component.name}/${d.variable.name}`;

client.on('protocol', (protocol) => {
    if (protocol === 'ocpp1.6') {
        handle(client, 'GetConfiguration', (params) => {
            const keys = params.key || [...config16.keys()];
            const known = keys.filter((k) => config16.has(k));
            const unknown = keys.filter((k) => !config16.has(k));
            const reply = {configurationKey: known.map((k) => ({key: k, readonly: false, value: config16.get(k)}))};
            if (unknown.length) reply.unknownKey = unknown;
            return reply;
        });
        handle(client, 'ChangeConfiguration', (params) => {
            if (!config16.has(params.key)) return {status: 'NotSupported'};
            config16.set(params.key, params.value);
            return {status: 'Accepted'};
        });
        handle(client, 'Reset', () => ({status: 'Accepted'}));
    } else {
        handle(client, 'GetVariables', (params) => ({
            getVariableResult: params.getVariableData.map((d) => variables201.has(varKey(d))
                ? {attributeStatus: 'Accepted', attributeValue: variables201.get(varKey(d)), component: d.component, variable: d.variable}
                : {attributeStatus: 'UnknownVariable', component: d.component, variable: d.variable}),
        }));
        handle(client, 'SetVariables', (params) => ({
            setVariableResult: params.setVariableData.map((d) => {
                const known = variables201.has(varKey(d));
                if (known) variables201.set(varKey(d), d.attributeValue);
                return {attributeStatus: known ? 'Accepted' : 'UnknownVariable', component: d.component, variable: d.variable};
            }),
        }));
        handle(client, 'Reset', () => ({status: 'Accepted'}));
    }
    // No handler for anything else: ocpp-rpc answers such calls itself.
});

client.on('close', ({code, reason}) => emit({event: 'disconnected', code, reason: String(reason)}));

client.connect().then(
    () => {
        emit({event: 'connected', identity: client.identity, protocol: client.protocol});
        commandLoop(() => client, rawWaiters, async (cmd) => {
            const res = await client.close({code: cmd.code || 1000, reason: cmd.reason || 'done', awaitPending: true});
            emit({event: 'closed', code: res.code, reason: String(res.reason)});
        });
    },
    (err) => {
        emit({event: 'connect_failed', error: errorInfo(err)});
        process.exit(3);
    },
);

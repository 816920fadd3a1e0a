'use strict';
// An ocpp-rpc RPCServer in strict mode playing a CSMS for ocppkit's ChargingStation.
// node rpc_csms.js --protocols ocpp1.6[,ocpp2.0.1] [--password PW]
// Prints {"event":"listening","port":N}; answers the station's calls itself; the test drives
// the CSMS's own calls to the station over stdin (see rpc_common.js).

const {RPCServer} = require('ocpp-rpc');
const {emit, parseArgs, watch, handle, commandLoop} = require('./rpc_common');

const args = parseArgs(process.argv.slice(2));
const server = new RPCServer({
    protocols: args.protocols.split(','),
    strictMode: true,
    callTimeoutMs: 10000,
});
const clients = new Map(); // identity -> RPCServerClient
const rawWaiters = new Map();
let latest = null;
let nextTransactionId = 1001;
const now = () => new Date().toISOString();

server.auth((accept, reject, handshake) => {
    const password = handshake.password ? handshake.password.toString('utf8') : null;
    emit({
        event: 'handshake',
        identity: handshake.identity,
        endpoint: handshake.endpoint,
        protocols: [...handshake.protocols],
        password,
    });
    if (args.password !== undefined && password !== args.password) {
        reject(401, 'Unauthorized');
    } else {
        accept({});
    }
});

server.on('client', (client) => {
    clients.set(client.identity, client);
    latest = client;
    watch(client, rawWaiters);
    emit({event: 'connected', identity: client.identity, protocol: client.protocol === undefined ? null : client.protocol});
    client.on('close', ({code, reason}) => {
        emit({event: 'disconnected', identity: client.identity, code, reason: String(reason)});
    });
    if (client.protocol === 'ocpp1.6') {
        handle(client, 'BootNotification', () => ({status: 'Accepted', currentTime: now(), interval: 300}));
        handle(client, 'Heartbeat', () => ({currentTime: now()}));
        handle(client, 'StatusNotification', () => ({}));
        handle(client, 'Authorize', (p) => ({idTagInfo: {status: p.idTag === 'BLOCKED' ? 'Blocked' : 'Accepted'}}));
        handle(client, 'StartTransaction', () => ({transactionId: nextTransactionId++, idTagInfo: {status: 'Accepted'}}));
        handle(client, 'MeterValues', () => ({}));
        handle(client, 'StopTransaction', (p) => (p.idTag ? {idTagInfo: {status: 'Accepted'}} : {}));
    } else if (client.protocol === 'ocpp2.0.1') {
        handle(client, 'BootNotification', () => ({currentTime: now(), interval: 300, status: 'Accepted'}));
        handle(client, 'Heartbeat', () => ({currentTime: now()}));
        handle(client, 'StatusNotification', () => ({}));
        handle(client, 'Authorize', () => ({idTokenInfo: {status: 'Accepted'}}));
        handle(client, 'TransactionEvent', (p) => (p.idToken ? {idTokenInfo: {status: 'Accepted'}} : {}));
    }
    // Anything else (e.g. DataTransfer) has no handler: ocpp-rpc answers it itself.
});

server.listen(0, '127.0.0.1').then((httpServer) => {
    emit({event: 'listening', port: httpServer.address().port});
    commandLoop((cmd) => (cmd.identity ? clients.get(cmd.identity) : latest), rawWaiters, async () => {
        await server.close({code: 1001, reason: 'server closing'});
        emit({event: 'closed'});
    });
});

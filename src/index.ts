/**
 * What an agent imports from the package: `import { RpcClient } from 'moltnet'`.
 */
export { RpcClient, RpcCallError, type RpcClientOptions } from './services/rpc/client.js';
export { RpcErrorCode, signingBytes, type RpcRequest, type RpcResponse, type RpcError } from './services/rpc/messages.js';
export { uuidToMeshAddress, isMeshAddress } from './common/address.js';
